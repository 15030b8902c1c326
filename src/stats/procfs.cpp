// stats/procfs.cpp: /proc/<pid>/stat and statm, and TCP_INFO (procfs.hpp).
//
// Plain reads with fixed buffers; no exceptions, no logging: a process may
// vanish between listing and reading, which is not an error.
#include "stats/procfs.hpp"

#include <charconv>
#include <string>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace forkd::stats {
namespace {

// The n-th (0-based) space-separated field of `text`.
bool field(std::string_view text, int n, uint64_t& out)
{
    std::size_t pos = 0;
    for (int i = 0;; ++i) {
        while (pos < text.size() && text[pos] == ' ')
            ++pos;
        if (pos >= text.size())
            return false;
        std::size_t end = text.find(' ', pos);
        if (end == std::string_view::npos)
            end = text.size();
        if (i == n) {
            std::string_view word = text.substr(pos, end - pos);
            while (!word.empty() && (word.back() == '\n' || word.back() == '\r'))
                word.remove_suffix(1);
            auto [p, ec] = std::from_chars(word.data(), word.data() + word.size(), out);
            return ec == std::errc() && p == word.data() + word.size();
        }
        pos = end;
    }
}

// Read a small /proc file whole (they are generated in one read).
bool read_small_file(const char* path, std::string& out)
{
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    char buf[1024];
    ssize_t n = ::read(fd, buf, sizeof buf);
    ::close(fd);
    if (n <= 0)
        return false;
    out.assign(buf, std::size_t(n));
    return true;
}

}  // namespace

bool parse_proc_stat(std::string_view text, long ticks_per_s, uint64_t& cpu_ms)
{
    const std::size_t paren = text.rfind(')');
    if (paren == std::string_view::npos || ticks_per_s <= 0)
        return false;
    // After "pid (comm)": state is field 3, so utime (14) is the 11th word
    // from here (index 11) and stime (15) the 12th (index 12).
    std::string_view rest = text.substr(paren + 1);
    uint64_t utime = 0;
    uint64_t stime = 0;
    if (!field(rest, 11, utime) || !field(rest, 12, stime))
        return false;
    cpu_ms = (utime + stime) * 1000 / uint64_t(ticks_per_s);
    return true;
}

bool parse_proc_statm(std::string_view text, long page_bytes, uint64_t& rss_bytes)
{
    uint64_t pages = 0;
    if (page_bytes <= 0 || !field(text, 1, pages))
        return false;
    rss_bytes = pages * uint64_t(page_bytes);
    return true;
}

bool read_proc_usage(pid_t pid, ProcUsage& out)
{
    static const long ticks = sysconf(_SC_CLK_TCK);
    static const long page = sysconf(_SC_PAGESIZE);
    std::string text;
    const std::string dir = "/proc/" + std::to_string(pid);
    if (!read_small_file((dir + "/stat").c_str(), text) || !parse_proc_stat(text, ticks, out.cpu_ms))
        return false;
    return read_small_file((dir + "/statm").c_str(), text) && parse_proc_statm(text, page, out.rss_bytes);
}

bool read_accept_queue(int fd, AcceptQueue& out)
{
    tcp_info info{};
    socklen_t len = sizeof info;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0)
        return false;
    if (info.tcpi_state != TCP_LISTEN)
        return false;
    out.queued = info.tcpi_unacked;
    out.backlog = info.tcpi_sacked;
    return true;
}

}  // namespace forkd::stats
