// http/request.cpp: helpers on a parsed request (see request.hpp).
//
// Owns query-string lookup. Must not allocate: the app calls it per request.
#include "http/request.hpp"

namespace forkd::http {

std::string_view Request::query_param(std::string_view key) const
{
    std::string_view rest = query;
    while (!rest.empty()) {
        std::size_t amp = rest.find('&');
        std::string_view pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
        std::size_t eq = pair.find('=');
        std::string_view name = pair.substr(0, eq);
        if (name == key)
            return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    }
    return {};
}

}  // namespace forkd::http
