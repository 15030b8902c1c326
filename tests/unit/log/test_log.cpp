// Unit tests for log/log.cpp: the process's error log, its file, the
// reopen after logrotate's rename (SIGUSR1), and a path that cannot be
// opened. Each test puts the default logger back on stderr at the end.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "log/log.hpp"

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& path)
{
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

struct TempDir {
    TempDir()
    {
        char tmpl[] = "/tmp/forkd-test-log-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir()
    {
        forkd::config::LogSettings to_stderr;
        forkd::log::setup(to_stderr, "unit");
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    fs::path path;
};

forkd::config::LogSettings to_file(const fs::path& path, const char* level = "info")
{
    forkd::config::LogSettings s;
    s.error_log = path.string();
    s.level = level;
    return s;
}

}  // namespace

TEST_CASE("log: lines go to error_log with the process name and the level, below the level nothing")
{
    TempDir dir;
    forkd::log::setup(to_file(dir.path / "error.log", "warning"), "worker 3");
    spdlog::info("not this one");
    spdlog::warn("this one");
    forkd::log::flush();
    const std::string text = slurp(dir.path / "error.log");
    CHECK(text.find("[worker 3] [warning] this one") != std::string::npos);
    CHECK(text.find("not this one") == std::string::npos);
}

TEST_CASE("log: reopen after a rename writes to a new file at the configured path")
{
    TempDir dir;
    forkd::log::setup(to_file(dir.path / "error.log"), "master");
    spdlog::info("before the rotation");
    fs::rename(dir.path / "error.log", dir.path / "error.log.1");
    spdlog::info("still the old file");
    forkd::log::reopen();
    spdlog::info("after the rotation");
    forkd::log::flush();
    const std::string old_text = slurp(dir.path / "error.log.1");
    const std::string new_text = slurp(dir.path / "error.log");
    CHECK(old_text.find("before the rotation") != std::string::npos);
    CHECK(old_text.find("still the old file") != std::string::npos);
    CHECK(old_text.find("after the rotation") == std::string::npos);
    CHECK(new_text.find("after the rotation") != std::string::npos);
}

TEST_CASE("log: a path that cannot be opened is a start-up error naming it")
{
    TempDir dir;
    std::ofstream(dir.path / "a-file") << "";
    const fs::path bad = dir.path / "a-file" / "error.log";  // through a file: never openable
    try {
        forkd::log::setup(to_file(bad), "master");
        FAIL("setup did not throw");
    } catch (const std::runtime_error& e) {
        CHECK(std::string(e.what()).find("cannot open error_log '" + bad.string() + "'") != std::string::npos);
    }
}

TEST_CASE("log: reopen of a file that can no longer be created keeps the old one and says why")
{
    TempDir dir;
    fs::create_directory(dir.path / "logs");
    forkd::log::setup(to_file(dir.path / "logs" / "error.log"), "master");
    spdlog::info("first");
    fs::rename(dir.path / "logs", dir.path / "moved");
    std::ofstream(dir.path / "logs") << "";  // the directory is now a file: the path cannot be opened
    forkd::log::reopen();
    spdlog::info("second");
    forkd::log::flush();
    const std::string text = slurp(dir.path / "moved" / "error.log");
    CHECK(text.find("first") != std::string::npos);
    CHECK(text.find("log reopen failed, keeping the old file") != std::string::npos);
    CHECK(text.find("second") != std::string::npos);
}

TEST_CASE("log: stderr ('-') needs no file and reopen leaves it alone")
{
    TempDir dir;
    forkd::config::LogSettings s;
    s.error_log = "-";
    CHECK_NOTHROW(forkd::log::setup(s, "master"));
    CHECK_NOTHROW(forkd::log::reopen());
    CHECK(fs::is_empty(dir.path));
}
