// tests/unit/config/test_keys.cpp: config/keys.cpp: the key table, what a
// key's expected values read like, mode keys limited to the names handed in
// (set_mode_keys), and typo suggestions.
#include "config/keys.hpp"

#include <doctest/doctest.h>

#include "app/table.hpp"
#include "config/settings.hpp"

using namespace forkd::config;
using namespace forkd::config::detail;

TEST_CASE("keys: every key is found by its dotted name")
{
    for (const Key& key : keys()) {
        CAPTURE(key.dotted());
        CHECK(find_key(key.dotted()) == &key);
        CHECK(find_key(key.table, key.name) == &key);
    }
    CHECK(find_key("endpoints.nope") == nullptr);
}

TEST_CASE("keys: a mode key accepts the names handed in, a listed key its own choices")
{
    const Key* fib = find_key("endpoints.fib_mode");
    REQUIRE(fib != nullptr);
    CHECK(fib->mode);
    static constexpr std::string_view names[] = {"slow", "fast"};
    static constexpr ModeKey handed[] = {{"fib_mode", names}};
    set_mode_keys(handed);
    CHECK(choices_of(*fib).size() == 2);
    CHECK(expected(*fib) == "one of \"slow\", \"fast\"");
    set_mode_keys(forkd::app::mode_keys());  // what the program and the other tests use
    CHECK(expected(*fib) == "one of \"offload\", \"inline\"");

    const Key* level = find_key("log.level");
    REQUIRE(level != nullptr);
    CHECK_FALSE(level->mode);
    CHECK(choices_of(*level).size() == 7);
    CHECK(expected(*find_key("workers")) == "an integer >= 0 and <= 1024");
}

TEST_CASE("keys: a likely typo gets the nearest name, or the key in its table")
{
    CHECK(nearest_name("wrkers") == "workers");
    CHECK(nearest_name("endpoints.fib_mod") == "endpoints.fib_mode");
    CHECK(nearest_name("level") == "log.level");
    CHECK_FALSE(nearest_name("completely_unrelated").has_value());
}
