// tests/unit/stats/test_labels.cpp: stats/labels.cpp: the status-code index
// space and its labels (the endpoint labels are the app's: test_table.cpp).
#include "stats/labels.hpp"

#include <set>
#include <string>

#include <doctest/doctest.h>

using namespace forkd::stats;

TEST_CASE("labels: every known code has its own index and label, the rest their class")
{
    CHECK(code_label(code_index(200)) == "200");
    CHECK(code_label(code_index(431)) == "431");
    CHECK(code_label(code_index(201)) == "2xx");
    CHECK(code_label(code_index(302)) == "3xx");
    CHECK(code_label(code_index(599)) == "5xx");
    CHECK(code_label(code_index(99)) == "1xx");
    CHECK(code_label(code_index(700)) == "5xx");
    for (int status : {100, 200, 204, 301, 400, 404, 431, 500, 503, 505})
        CHECK(code_class(code_index(status)) == status / 100);
}

TEST_CASE("labels: indices cover the space exactly, labels unique")
{
    std::set<std::string> seen;
    for (std::size_t i = 0; i < code_count; ++i)
        CHECK(seen.insert(std::string(code_label(i))).second);
    CHECK(code_label(code_count) == "unknown");
}
