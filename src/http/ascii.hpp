// http/ascii.hpp: the byte-level helpers both parser files use: ASCII case
// folding and optional whitespace (RFC 9110 5.6.3), locale-free.
// Must not hold anything that knows HTTP beyond single bytes.
#pragma once

#include <cstddef>
#include <string_view>

namespace forkd::http::ascii {

inline char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}

// RFC 9110 5.6.2: tchar, the bytes of a token (a field name, a method).
inline bool is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos);
}

inline bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

// `text` starts with `prefix` (given in lower case), ignoring ASCII case.
inline bool iequals_prefix(std::string_view text, std::string_view prefix)
{
    if (text.size() < prefix.size())
        return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (lower(text[i]) != prefix[i])
            return false;
    }
    return true;
}

inline std::string_view trim_ows(std::string_view s)
{
    while (!s.empty() && is_ows(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back()))
        s.remove_suffix(1);
    return s;
}

}  // namespace forkd::http::ascii
