// top/top.cpp: the terminal loop of `forkd top` (top.hpp).
//
// One thread, one poll() on stdin with the time to the next redraw as its
// timeout. Signal handlers only set flags (SIGWINCH: redraw at the new size;
// SIGINT, SIGTERM, SIGHUP: quit); they are installed without SA_RESTART so
// that poll() returns at once. The terminal is restored by a guard object,
// whatever way run() is left.
#include "top/top.hpp"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>

#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "top/http_get.hpp"
#include "top/render.hpp"

namespace forkd::top {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int fetch_timeout_ms = 2000;

volatile std::sig_atomic_t resized = 0;
volatile std::sig_atomic_t quit_signal = 0;

extern "C" void on_winch(int)
{
    resized = 1;
}
extern "C" void on_quit(int signum)
{
    quit_signal = signum;
}

Screen screen_size(int fd)
{
    Screen s;
    winsize ws{};
    if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
        s.cols = ws.ws_col;
        s.rows = ws.ws_row;
    }
    return s;
}

void write_all(const std::string& text)
{
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(STDOUT_FILENO, text.data() + done, text.size() - done);
        if (n > 0)
            done += std::size_t(n);
        else if (n < 0 && errno == EINTR)
            continue;
        else
            return;
    }
}

// Raw mode and the alternate screen for as long as it lives.
class TerminalGuard {
public:
    TerminalGuard()
    {
        if (tcgetattr(STDIN_FILENO, &saved_) == 0) {
            termios raw = saved_;
            // No line buffering, no echo, and Ctrl-C as a key (we quit on it
            // ourselves, after restoring the terminal).
            raw.c_lflag &= tcflag_t(~(ICANON | ECHO | ISIG));
            raw.c_cc[VMIN] = 0;
            raw.c_cc[VTIME] = 0;
            raw_ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0;
        }
        write_all("\x1b[?1049h\x1b[?25l");  // alternate screen, hide the cursor
    }
    ~TerminalGuard()
    {
        write_all("\x1b[?25h\x1b[?1049l");  // show the cursor, back to the main screen
        if (raw_)
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
    }
    TerminalGuard(const TerminalGuard&) = delete;
    TerminalGuard& operator=(const TerminalGuard&) = delete;

private:
    termios saved_{};
    bool raw_ = false;
};

class SignalGuard {
public:
    SignalGuard()
    {
        install(SIGWINCH, &on_winch, 0);
        install(SIGINT, &on_quit, 1);
        install(SIGTERM, &on_quit, 2);
        install(SIGHUP, &on_quit, 3);
    }
    ~SignalGuard()
    {
        for (int i = 0; i < 4; ++i)
            sigaction(signums_[i], &saved_[i], nullptr);
    }
    SignalGuard(const SignalGuard&) = delete;
    SignalGuard& operator=(const SignalGuard&) = delete;

private:
    void install(int signum, void (*handler)(int), int i)
    {
        struct sigaction sa { };
        sa.sa_handler = handler;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = 0;  // no SA_RESTART: poll() must return
        signums_[i] = signum;
        sigaction(signum, &sa, &saved_[i]);
    }
    int signums_[4] = {};
    struct sigaction saved_[4]{};
};

struct Fetched {
    bool ok = false;
    nlohmann::json stats;
    std::string error;
    Clock::time_point at;
};

Fetched fetch(const Url& url)
{
    Fetched f;
    HttpResult r = http_get(url, fetch_timeout_ms);
    f.at = Clock::now();
    if (!r.ok) {
        f.error = r.error;
        return f;
    }
    if (r.status != 200) {
        f.error = "HTTP " + std::to_string(r.status) + (r.status == 403 ? " (this address is not in stats.allow)" : "");
        return f;
    }
    f.stats = nlohmann::json::parse(r.body, nullptr, false);
    if (f.stats.is_discarded() || !f.stats.is_object()) {
        f.error = "the answer is not a /stats JSON document";
        return f;
    }
    f.ok = true;
    return f;
}

std::string frame_text(const std::vector<std::string>& lines, bool terminal)
{
    std::string out = terminal ? "\x1b[H" : "";
    for (const std::string& line : lines) {
        out += line;
        out += terminal ? "\x1b[K\r\n" : "\n";
    }
    if (terminal)
        out += "\x1b[J";
    return out;
}

int run_once(const Url& url, const Options& options)
{
    Fetched f = fetch(url);
    Screen screen = isatty(STDOUT_FILENO) ? screen_size(STDOUT_FILENO) : Screen{};
    screen.rows = 0;  // the whole frame
    if (!f.ok) {
        std::fprintf(stderr, "forkd top: cannot read %s: %s\n", options.url.c_str(), f.error.c_str());
        return 1;
    }
    FrameInput in;
    in.now = &f.stats;
    in.url = options.url;
    write_all(frame_text(render(in, screen), false));
    return 0;
}

}  // namespace

int run(const Options& options)
{
    Url url;
    std::string error;
    if (!parse_url(options.url, url, error)) {
        std::fprintf(stderr, "forkd top: %s: %s\n", options.url.c_str(), error.c_str());
        return 2;
    }
    if (options.once || !isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO))
        return run_once(url, options);

    SignalGuard signals;
    TerminalGuard terminal;
    const auto interval = std::chrono::milliseconds(long(options.interval_s * 1000));
    Fetched now, prev;
    auto next_fetch = Clock::now();
    bool redraw = true;
    quit_signal = 0;
    for (;;) {
        if (Clock::now() >= next_fetch) {
            Fetched f = fetch(url);
            if (f.ok && now.ok) {
                prev = std::move(now);
            } else if (!f.ok) {
                prev = Fetched{};
            }
            now = std::move(f);
            next_fetch = Clock::now() + interval;
            redraw = true;
        }
        if (resized) {
            resized = 0;
            redraw = true;
        }
        if (redraw) {
            const Screen screen = screen_size(STDOUT_FILENO);
            std::vector<std::string> lines;
            if (now.ok) {
                FrameInput in;
                in.now = &now.stats;
                in.prev = prev.ok ? &prev.stats : nullptr;
                in.elapsed_s = prev.ok ? std::chrono::duration<double>(now.at - prev.at).count() : 0;
                in.url = options.url;
                in.interactive = true;
                lines = render(in, screen);
            } else {
                lines = render_error(options.url, now.error, screen, true);
            }
            write_all(frame_text(lines, true));
            redraw = false;
        }
        if (quit_signal != 0)
            return 0;
        const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_fetch - Clock::now());
        pollfd p{STDIN_FILENO, POLLIN, 0};
        const int n = poll(&p, 1, wait.count() > 0 ? int(wait.count()) : 0);
        if (n > 0) {
            char keys[64];
            const ssize_t got = ::read(STDIN_FILENO, keys, sizeof keys);
            if (got == 0)
                return 0;  // the terminal went away
            for (ssize_t i = 0; i < got; ++i) {
                if (keys[i] == 'q' || keys[i] == 'Q' || keys[i] == 3 /* Ctrl-C */ || keys[i] == 4 /* Ctrl-D */)
                    return 0;
            }
        }
        if (quit_signal != 0)
            return 0;
    }
}

}  // namespace forkd::top
