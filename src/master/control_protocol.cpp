// master/control_protocol.cpp: request and reply lines (see the header).
#include "master/control_protocol.hpp"

#include <charconv>

namespace forkd::master {
namespace {

std::string one_line(std::string_view text)
{
    std::string out(text);
    for (char& c : out) {
        if (c == '\n' || c == '\r')
            c = ' ';
    }
    return out;
}

}  // namespace

std::string control_path(const std::string& pidfile)
{
    return pidfile + ".ctl";
}

std::vector<std::string> split_request(std::string_view line)
{
    std::vector<std::string> words;
    std::size_t at = 0;
    while (at < line.size()) {
        const std::size_t end = std::min(line.find(' ', at), line.size());
        if (end > at)
            words.emplace_back(line.substr(at, end - at));
        at = end + 1;
    }
    return words;
}

std::string join_request(const std::vector<std::string>& words)
{
    std::string out;
    for (const std::string& w : words)
        out += (out.empty() ? "" : " ") + w;
    return out;
}

std::string progress_line(std::string_view text)
{
    return "- " + one_line(text) + "\n";
}

std::string final_line(int code, std::string_view text)
{
    return std::to_string(code) + (text.empty() ? "" : " ") + one_line(text) + "\n";
}

std::optional<ReplyLine> parse_reply(std::string_view line)
{
    ReplyLine r;
    if (line.rfind("- ", 0) == 0) {
        r.text = line.substr(2);
        return r;
    }
    const char* end = line.data() + line.size();
    const auto [stop, error] = std::from_chars(line.data(), end, r.code);
    if (error != std::errc() || stop == line.data() || r.code < 0 || r.code > 255)
        return std::nullopt;
    if (stop != end && *stop != ' ')
        return std::nullopt;
    r.final = true;
    r.text = stop == end ? std::string() : std::string(stop + 1, end);
    return r;
}

}  // namespace forkd::master
