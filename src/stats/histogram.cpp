// stats/histogram.cpp: percentiles over the log-linear buckets (histogram.hpp).
#include "stats/histogram.hpp"

#include <algorithm>
#include <cmath>

namespace forkd::stats {

void Histogram::record(uint64_t ns)
{
    ++buckets[hist::bucket_of(ns)];
    ++count;
    sum_ns += ns;
    max_ns = std::max(max_ns, ns);
}

void Histogram::merge(const Histogram& other)
{
    for (std::size_t i = 0; i < buckets.size(); ++i)
        buckets[i] += other.buckets[i];
    count += other.count;
    sum_ns += other.sum_ns;
    max_ns = std::max(max_ns, other.max_ns);
}

uint64_t Histogram::percentile(double q) const
{
    // Sum the buckets rather than trust `count`: a snapshot of live counters
    // may see a bucket incremented before or after the total.
    uint64_t total = 0;
    for (uint64_t b : buckets)
        total += b;
    if (total == 0)
        return 0;
    q = std::clamp(q, 0.0, 1.0);
    const uint64_t rank = std::max<uint64_t>(1, uint64_t(std::ceil(q * double(total))));
    uint64_t seen = 0;
    for (std::size_t i = 0; i < buckets.size(); ++i) {
        seen += buckets[i];
        if (seen >= rank) {
            const uint64_t lower = hist::bucket_lower(i);
            const uint64_t upper = i + 1 < buckets.size() ? hist::bucket_upper(i) : lower * 2;
            const uint64_t mid = lower + (upper - lower) / 2;
            // The true maximum is known exactly; no estimate should exceed it.
            return max_ns != 0 ? std::min(mid, max_ns) : mid;
        }
    }
    return max_ns;
}

uint64_t Histogram::count_below(uint64_t bound) const
{
    uint64_t n = 0;
    for (std::size_t i = 0; i < buckets.size() && hist::bucket_upper(i) <= bound + 1; ++i)
        n += buckets[i];
    return n;
}

}  // namespace forkd::stats
