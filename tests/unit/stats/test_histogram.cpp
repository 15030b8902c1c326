// Unit tests for stats/histogram.cpp: the bucket layout and percentiles within
// the bucket error on known distributions.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "stats/histogram.hpp"

using namespace forkd::stats;

namespace {

// The exact q-quantile of sorted values, by the same rank rule.
uint64_t exact(const std::vector<uint64_t>& sorted, double q)
{
    const auto rank = std::max<std::size_t>(1, std::size_t(std::ceil(q * double(sorted.size()))));
    return sorted[rank - 1];
}

// |estimate - truth| / truth, with tiny values (exact buckets) allowed 1 ns.
double relative_error(uint64_t estimate, uint64_t truth)
{
    const double diff = std::fabs(double(estimate) - double(truth));
    return diff <= 1 ? 0 : diff / double(truth);
}

void check_quantiles(std::vector<uint64_t> values)
{
    Histogram h;
    for (uint64_t v : values)
        h.record(v);
    std::sort(values.begin(), values.end());
    for (double q : {0.5, 0.9, 0.95, 0.99, 0.999, 1.0}) {
        CAPTURE(q);
        CAPTURE(exact(values, q));
        CAPTURE(h.percentile(q));
        // The midpoint of a bucket at most 1/16 of its lower bound wide.
        CHECK(relative_error(h.percentile(q), exact(values, q)) <= 1.0 / 32 + 1e-9);
    }
    CHECK(h.max_ns == values.back());
    CHECK(h.count == values.size());
}

}  // namespace

TEST_CASE("histogram buckets are contiguous, ordered and at most 1/16 wide")
{
    CHECK(hist::bucket_of(0) == 0);
    CHECK(hist::bucket_of(15) == 15);
    CHECK(hist::bucket_of(16) == 16);
    for (std::size_t i = 0; i + 1 < hist::bucket_count; ++i) {
        CAPTURE(i);
        const uint64_t lo = hist::bucket_lower(i);
        const uint64_t hi = hist::bucket_upper(i);
        REQUIRE(hi > lo);
        CHECK(hist::bucket_lower(i + 1) == hi);
        CHECK(hist::bucket_of(lo) == i);
        CHECK(hist::bucket_of(hi - 1) == i);
        if (lo >= 16)
            CHECK(double(hi - lo) / double(lo) <= 1.0 / 16);
    }
    // Past the resolved range everything lands in the last bucket.
    CHECK(hist::bucket_of(uint64_t(1) << 40) == hist::bucket_count - 1);
    CHECK(hist::bucket_of(UINT64_MAX) == hist::bucket_count - 1);
    CHECK(hist::bucket_upper(hist::bucket_count - 1) == UINT64_MAX);
}

TEST_CASE("an empty histogram has no percentiles")
{
    Histogram h;
    CHECK(h.percentile(0.5) == 0);
    CHECK(h.mean_ns() == 0);
    CHECK(h.count_below(1000000) == 0);
}

TEST_CASE("percentiles of a constant are the constant")
{
    Histogram h;
    for (int i = 0; i < 1000; ++i)
        h.record(123456);
    // Capped at the exact maximum, which is the value itself.
    CHECK(h.percentile(0.5) == 123456);
    CHECK(h.percentile(0.99) == 123456);
    CHECK(h.mean_ns() == 123456);
}

TEST_CASE("percentiles of a uniform distribution are within the bucket error")
{
    std::vector<uint64_t> values;
    for (uint64_t v = 1000; v <= 10000000; v += 997)  // 1 us .. 10 ms
        values.push_back(v);
    check_quantiles(values);
}

TEST_CASE("percentiles of heavy-tailed distributions are within the bucket error")
{
    std::mt19937_64 rng(42);
    SUBCASE("exponential, mean 50 us")
    {
        std::exponential_distribution<double> d(1.0 / 50000);
        std::vector<uint64_t> values;
        for (int i = 0; i < 200000; ++i)
            values.push_back(uint64_t(d(rng)) + 1);
        check_quantiles(values);
    }
    SUBCASE("log-normal from microseconds to seconds")
    {
        std::lognormal_distribution<double> d(std::log(200000.0), 2.0);
        std::vector<uint64_t> values;
        for (int i = 0; i < 200000; ++i)
            values.push_back(uint64_t(d(rng)) + 1);
        check_quantiles(values);
    }
    SUBCASE("bimodal: fast hits and slow misses")
    {
        std::vector<uint64_t> values;
        for (int i = 0; i < 9000; ++i)
            values.push_back(5000 + uint64_t(i % 100));
        for (int i = 0; i < 1000; ++i)
            values.push_back(30000000 + uint64_t(i) * 1000);
        check_quantiles(values);
    }
}

TEST_CASE("merging histograms equals recording everything in one")
{
    Histogram a, b, all;
    for (uint64_t v = 1; v < 100000; v += 37) {
        (v % 2 ? a : b).record(v * 11);
        all.record(v * 11);
    }
    a.merge(b);
    CHECK(a.buckets == all.buckets);
    CHECK(a.count == all.count);
    CHECK(a.sum_ns == all.sum_ns);
    CHECK(a.max_ns == all.max_ns);
}

TEST_CASE("count_below counts only buckets wholly at or under the bound")
{
    Histogram h;
    h.record(100);         // exact-ish small bucket
    h.record(1000000);     // 1 ms, a bucket boundary ((16 + s) << k)?
    h.record(2000000000);  // 2 s
    CHECK(h.count_below(99) == 0);
    CHECK(h.count_below(hist::bucket_upper(hist::bucket_of(100)) - 1) == 1);
    CHECK(h.count_below(5000000) == 2);
    CHECK(h.count_below(10000000000) == 3);
    // Monotone in the bound.
    uint64_t prev = 0;
    for (uint64_t bound = 1; bound < 100000000000; bound *= 3) {
        const uint64_t n = h.count_below(bound);
        CHECK(n >= prev);
        prev = n;
    }
}
