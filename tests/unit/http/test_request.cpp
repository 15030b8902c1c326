// Unit tests for http/request.cpp: query-string lookup, as the app reads
// ?mode= from a target's query (no decoding: mode names are plain ASCII).
#include <doctest/doctest.h>

#include "http/request.hpp"

using forkd::http::Request;

namespace {

Request with_query(std::string_view query)
{
    Request r;
    r.query = query;
    return r;
}

}  // namespace

TEST_CASE("request: query_param finds a key among several, in any position")
{
    CHECK(with_query("mode=inline").query_param("mode") == "inline");
    CHECK(with_query("a=1&mode=offload&b=2").query_param("mode") == "offload");
    CHECK(with_query("a=1&mode=block").query_param("mode") == "block");
}

TEST_CASE("request: query_param returns the first of repeated keys")
{
    CHECK(with_query("mode=timer&mode=block").query_param("mode") == "timer");
}

TEST_CASE("request: a missing key, an empty value and a key without '=' are all empty")
{
    CHECK(with_query("").query_param("mode").empty());
    CHECK(with_query("other=1").query_param("mode").empty());
    CHECK(with_query("mode=").query_param("mode").empty());
    CHECK(with_query("mode").query_param("mode").empty());
    CHECK(with_query("&&mode=x&&").query_param("mode") == "x");
}

TEST_CASE("request: keys match exactly, not by prefix or case")
{
    CHECK(with_query("modes=x").query_param("mode").empty());
    CHECK(with_query("xmode=x").query_param("mode").empty());
    CHECK(with_query("MODE=x").query_param("mode").empty());
    CHECK(with_query("mode=a=b").query_param("mode") == "a=b");
}
