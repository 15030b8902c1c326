// http/limits.cpp: Limits from the settings (see limits.hpp).
//
// Owns the unit conversions (seconds to milliseconds) and the meaning of 0
// for each key. Must not validate the settings: config/ does that.
#include "http/limits.hpp"

#include <algorithm>
#include <cmath>

#include "config/settings.hpp"

namespace forkd::http {

namespace {

std::size_t bounded(int value, std::size_t hard_max)
{
    if (value <= 0)
        return hard_max;
    return std::min(static_cast<std::size_t>(value), hard_max);
}

uint64_t to_ms(double seconds)
{
    if (!(seconds > 0))
        return 0;  // also NaN
    double ms = std::ceil(seconds * 1000.0);
    return ms > 1e15 ? uint64_t{1000000000000000} : static_cast<uint64_t>(ms);
}

}  // namespace

Limits Limits::from(const config::Settings& settings)
{
    Limits limits;
    limits.request_line = bounded(settings.limit_request_line, max_request_line);
    limits.request_fields = bounded(settings.limit_request_fields, max_request_fields);
    limits.request_field_size = bounded(settings.limit_request_field_size, max_request_field_size);
    limits.max_body_size = settings.max_body_size > 0 ? settings.max_body_size : -1;
    limits.header_timeout_ms = to_ms(settings.header_timeout);
    limits.keepalive_ms = to_ms(settings.keepalive);
    limits.send_timeout_ms = to_ms(settings.send_timeout);
    limits.keep_request = settings.endpoints.echo;
    return limits;
}

}  // namespace forkd::http
