// http/date.hpp: the Date header value, formatted once a second, not per response.
//
// The worker calls refresh() from a one-second timer; connections read
// current() on the loop thread, which also re-formats when the second has
// changed (so the value is right even where no timer runs). IMF-fixdate
// (RFC 9110 5.6.7).
#pragma once

#include <ctime>
#include <string_view>

namespace forkd::http::date {

// Format `t` as "Sun, 06 Nov 1994 08:49:37 GMT" into a 29-character result.
std::string_view format(std::time_t t, char (&buf)[32]);

// Re-format the cached value from the current time.
void refresh();

// The cached value, for the current second.
std::string_view current();

}  // namespace forkd::http::date
