// stats/histogram.hpp: log-linear latency buckets and percentiles.
//
// Owns the bucket layout shared by the scoreboard (atomic counters written on
// the hot path) and the renderers (plain copies, merged and queried), in the
// manner of HdrHistogram: values below 16 ns have a bucket each; above, every
// power of two is cut into 16 equal sub-buckets, so a bucket is at most 1/16
// (6.25 %) of its lower bound wide and a percentile reported at a bucket's
// midpoint is within about 3 % of the true value. Values from 2^40 ns (18
// minutes) up share the last bucket. Recording is an index computation (a
// count-leading-zeros and two shifts); percentiles are computed only when a
// renderer asks.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace forkd::stats {

namespace hist {

constexpr int sub_bits = 4;
constexpr uint64_t sub_count = uint64_t(1) << sub_bits;  // sub-buckets per power of two
constexpr int max_exponent = 40;                         // values < 2^40 ns are resolved
constexpr std::size_t bucket_count = sub_count * std::size_t(max_exponent - sub_bits + 1);

// The bucket holding `ns`.
constexpr std::size_t bucket_of(uint64_t ns)
{
    if (ns < sub_count)
        return std::size_t(ns);
    const int exponent = std::bit_width(ns) - 1;  // >= sub_bits
    if (exponent >= max_exponent)
        return bucket_count - 1;
    const int shift = exponent - sub_bits;
    // (ns >> shift) lies in [sub_count, 2 * sub_count): the group's sub-bucket plus sub_count.
    return std::size_t(sub_count) * std::size_t(shift) + std::size_t(ns >> shift);
}

// The values in bucket `i` are those in [lower(i), upper(i)).
constexpr uint64_t bucket_lower(std::size_t i)
{
    if (i < 2 * sub_count)
        return i;  // the first two groups are one nanosecond wide
    const int shift = int(i / sub_count) - 1;
    return uint64_t(sub_count + i % sub_count) << shift;
}

constexpr uint64_t bucket_upper(std::size_t i)
{
    if (i + 1 >= bucket_count)
        return UINT64_MAX;
    return bucket_lower(i + 1);
}

}  // namespace hist

// A plain (not shared) histogram of latencies in nanoseconds, for rendering.
struct Histogram {
    std::array<uint64_t, hist::bucket_count> buckets{};
    uint64_t count = 0;
    uint64_t sum_ns = 0;
    uint64_t max_ns = 0;

    void record(uint64_t ns);
    void merge(const Histogram& other);

    // The value at quantile q (0 < q <= 1): the midpoint of the bucket holding
    // the ceil(q * count)-th smallest value, capped at max_ns. 0 when empty.
    uint64_t percentile(double q) const;
    // How many values are below `bound` for sure: those in buckets whose upper
    // end is at most `bound` (for Prometheus' cumulative "le" buckets; a
    // bucket straddling `bound` is counted at the next bound).
    uint64_t count_below(uint64_t bound) const;
    uint64_t mean_ns() const { return count == 0 ? 0 : sum_ns / count; }
};

}  // namespace forkd::stats
