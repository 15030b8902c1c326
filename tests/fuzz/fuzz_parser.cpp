// tests/fuzz/fuzz_parser.cpp: a libFuzzer target for http/parser.cpp.
//
// The first input byte picks small or default limits and a chunking pattern;
// the rest is a raw request stream. It is fed whole and in chunks, as a
// connection would (keeping the unconsumed rest), and both runs must hand out
// the same requests and agree on whether the stream ends in an error. (Which
// error may differ when one stream holds several problems: the parser reports
// the first one it meets, and where it meets a bare LF depends on the split.)
// Also checks that consumed counts stay in range, that the target respects
// its limit, and that path and query point into the target.
//
// Build (clang only): see tests/fuzz/meson.build; run with the fixtures as
// a seed corpus: ./fuzz_parser -max_len=4096 corpus/ tests/fixtures/http/
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "http/parser.hpp"

using forkd::http::Limits;
using forkd::http::Parser;

namespace {

void check(bool ok)
{
    if (!ok)
        std::abort();
}

void check_request(const Parser& parser, const Limits& limits)
{
    const auto& r = parser.request();
    check(r.target.size() <= limits.request_line);
    const char* begin = r.target.data();
    const char* end = begin + r.target.size();
    check(r.path.data() >= begin && r.path.data() + r.path.size() <= end);
    check(r.query.empty() || (r.query.data() >= begin && r.query.data() + r.query.size() <= end));
    check(!r.path.empty() && (r.path[0] == '/' || r.path == "*"));
}

struct Outcome {
    std::vector<std::string> requests;
    bool error = false;
};

Outcome replay(const std::string& input, const Limits& limits, std::size_t pattern)
{
    Parser parser(limits);
    Outcome out;
    std::string buffered;
    std::size_t offset = 0;
    std::size_t step = 0;
    for (;;) {
        for (;;) {
            std::size_t used = 0;
            Parser::Event event = parser.feed(buffered.data(), buffered.size(), used);
            check(used <= buffered.size());
            buffered.erase(0, used);
            if (event == Parser::Event::request) {
                check_request(parser, limits);
                const auto& r = parser.request();
                out.requests.push_back(std::string(r.method_name()) + ' ' + r.target +
                                       (r.keep_alive ? " ka" : " close"));
                parser.next();
                continue;
            }
            if (event == Parser::Event::error) {
                int status = parser.error_status();
                check(status == 400 || status == 413 || status == 414 || status == 431 || status == 505);
                check(!parser.error_message().empty());
                // Dead after an error.
                std::size_t again = 0;
                check(parser.feed("GET / HTTP/1.1\r\n\r\n", 18, again) == Parser::Event::error);
                out.error = true;
                return out;
            }
            if (event == Parser::Event::done)
                return out;
            check(buffered.empty());
            break;
        }
        if (offset == input.size())
            return out;
        std::size_t n = pattern == 0 ? input.size() : 1 + (pattern * 7 + step++ * 13) % (pattern + 3);
        n = std::min(n, input.size() - offset);
        buffered.append(input, offset, n);
        offset += n;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size)
{
    if (size < 1)
        return 0;
    Limits limits;
    if (data[0] & 1) {
        limits.request_line = 64;
        limits.request_fields = 6;
        limits.request_field_size = 48;
        limits.max_body_size = 32;
    }
    std::size_t pattern = 1 + (data[0] >> 1) % 16;
    std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
    Outcome whole = replay(input, limits, 0);
    Outcome chunked = replay(input, limits, pattern);
    check(whole.requests == chunked.requests);
    check(whole.error == chunked.error);
    return 0;
}
