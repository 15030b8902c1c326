// http/date.cpp: the cached Date header value (see date.hpp).
//
// Owns formatting IMF-fixdate and the one cached value. Must not touch the
// loop: the worker's one-second timer calls refresh(). current() also
// re-formats when the second has changed (std::time is a vDSO read), so a
// response never carries a stale Date even if no timer runs (tests, tools).
// Loop thread only.
#include "http/date.hpp"

namespace forkd::http::date {

namespace {

constexpr const char* day_names[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

char* put2(char* p, int v)
{
    *p++ = static_cast<char>('0' + (v / 10) % 10);
    *p++ = static_cast<char>('0' + v % 10);
    return p;
}

char* put3(char* p, const char* s)
{
    *p++ = s[0];
    *p++ = s[1];
    *p++ = s[2];
    return p;
}

char cached[32];
std::time_t cached_time = -1;
std::string_view cached_view;

}  // namespace

std::string_view format(std::time_t t, char (&buf)[32])
{
    struct tm tm { };
    if (gmtime_r(&t, &tm) == nullptr) {
        t = 0;
        gmtime_r(&t, &tm);
    }
    int year = tm.tm_year + 1900;
    if (year < 0)
        year = 0;
    if (year > 9999)
        year = 9999;
    char* p = buf;
    p = put3(p, day_names[tm.tm_wday % 7]);
    *p++ = ',';
    *p++ = ' ';
    p = put2(p, tm.tm_mday);
    *p++ = ' ';
    p = put3(p, month_names[tm.tm_mon % 12]);
    *p++ = ' ';
    p = put2(p, year / 100);
    p = put2(p, year % 100);
    *p++ = ' ';
    p = put2(p, tm.tm_hour);
    *p++ = ':';
    p = put2(p, tm.tm_min);
    *p++ = ':';
    p = put2(p, tm.tm_sec);
    p = put3(p, " GM");
    *p++ = 'T';
    *p = '\0';
    return {buf, static_cast<std::size_t>(p - buf)};
}

void refresh()
{
    cached_time = std::time(nullptr);
    cached_view = format(cached_time, cached);
}

std::string_view current()
{
    if (std::time(nullptr) != cached_time)
        refresh();
    return cached_view;
}

}  // namespace forkd::http::date
