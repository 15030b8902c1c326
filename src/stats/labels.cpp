// stats/labels.cpp: the label text of status codes (labels.hpp).
#include "stats/labels.hpp"

#include <array>

namespace forkd::stats {
namespace {

// In the order of code_index().
constexpr std::array<std::string_view, code_count> code_labels = {
    "200", "400", "403", "404", "405", "408", "413", "414", "431",
    "500", "503", "505", "1xx", "2xx", "3xx", "4xx", "5xx",
};

}  // namespace

std::string_view code_label(std::size_t index)
{
    return index < code_count ? code_labels[index] : "unknown";
}

int code_class(std::size_t index)
{
    if (index >= known_code_count)
        return int(index - known_code_count) + 1;
    return code_labels[index][0] - '0';
}

}  // namespace forkd::stats
