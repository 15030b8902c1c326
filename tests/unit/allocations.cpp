// tests/unit/allocations.cpp: the counting operator new (allocations.hpp).
//
// Replaces the global operator new and delete (plain, array, nothrow,
// aligned); each new counts one on the calling thread and takes its memory
// from malloc (aligned_alloc for the aligned forms). Sanitizers still see
// every block: they intercept malloc and free.
#include "tests/unit/allocations.hpp"

#include <cstdlib>
#include <new>

namespace {

thread_local uint64_t count = 0;

void* take(std::size_t size)
{
    ++count;
    if (void* p = std::malloc(size != 0 ? size : 1))
        return p;
    throw std::bad_alloc();
}

void* take_aligned(std::size_t size, std::align_val_t align)
{
    ++count;
    auto a = static_cast<std::size_t>(align);
    std::size_t rounded = (size + a - 1) / a * a;  // aligned_alloc wants a multiple
    if (void* p = std::aligned_alloc(a, rounded != 0 ? rounded : a))
        return p;
    throw std::bad_alloc();
}

}  // namespace

namespace forkd_test {

uint64_t allocations()
{
    return count;
}

}  // namespace forkd_test

void* operator new(std::size_t size)
{
    return take(size);
}
void* operator new[](std::size_t size)
{
    return take(size);
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept
{
    try {
        return take(size);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept
{
    try {
        return take(size);
    } catch (...) {
        return nullptr;
    }
}
void* operator new(std::size_t size, std::align_val_t align)
{
    return take_aligned(size, align);
}
void* operator new[](std::size_t size, std::align_val_t align)
{
    return take_aligned(size, align);
}
void operator delete(void* p) noexcept
{
    std::free(p);
}
void operator delete[](void* p) noexcept
{
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept
{
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept
{
    std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept
{
    std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept
{
    std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept
{
    std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept
{
    std::free(p);
}
