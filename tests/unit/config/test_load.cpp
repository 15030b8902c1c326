// Tests of config/load.cpp, config/keys.cpp and config/validate.cpp: every
// way a config file can be wrong and what the message says, addresses,
// the render_toml round trip, and conf/forkd.toml being the defaults.
#include <doctest/doctest.h>

#include <toml++/toml.h>

#include <string>

#include "app/table.hpp"
#include "config/keys.hpp"
#include "config/load.hpp"

using namespace forkd::config;

namespace {

// The program hands config the endpoint table's mode names before it reads
// any configuration (main.cpp); so do these tests, before any test runs.
[[maybe_unused]] const bool mode_keys_handed_in = [] {
    set_mode_keys(forkd::app::mode_keys());
    return true;
}();

// The message of the ConfigError that `text` raises, or "" if it loads.
std::string error_of(std::string_view text)
{
    Settings settings;
    try {
        apply_toml(settings, text, "test.toml");
    } catch (const ConfigError& error) {
        return error.what();
    }
    return "";
}

Settings load_text(std::string_view text)
{
    Settings settings;
    apply_toml(settings, text, "test.toml");
    return settings;
}

// render_toml() without its first line, which names the source.
std::string body(const Settings& settings)
{
    const std::string text = render_toml(settings);
    return text.substr(text.find('\n') + 1);
}

}  // namespace

TEST_CASE("unknown keys and tables name the line and suggest the nearest name")
{
    CHECK(error_of("workers = 2\nwrkers = 3\n") == "test.toml:2: unknown key 'wrkers'; did you mean 'workers'?");
    CHECK(error_of("[log]\nlevel = \"info\"\nlevl = \"debug\"\n") ==
          "test.toml:3: unknown key 'log.levl'; did you mean 'log.level'?");
    CHECK(error_of("\n[lgo]\nlevel = \"debug\"\n") == "test.toml:2: unknown table 'lgo'; did you mean 'log'?");
    CHECK(error_of("level = \"debug\"\n") == "test.toml:1: unknown key 'level'; did you mean 'log.level'?");
    CHECK(error_of("frobnicate = 1\n") == "test.toml:1: unknown key 'frobnicate'");
    CHECK(error_of("[endpoints.extra]\nx = 1\n") == "test.toml:1: unknown table 'endpoints.extra'");
}

TEST_CASE("the first problem in file order is the one reported")
{
    // toml++ iterates keys by name; the error must still be the earliest line.
    CHECK(error_of("workers = \"four\"\nbacklog = 0\n").starts_with("test.toml:1: key 'workers'"));
    CHECK(error_of("zz = 1\naa = 2\n").starts_with("test.toml:1: unknown key 'zz'"));
}

TEST_CASE("wrong types say what was expected and what was given")
{
    CHECK(error_of("\n\nworkers = \"four\"\n") ==
          "test.toml:3: key 'workers': expected an integer >= 0 and <= 1024, got \"four\"");
    CHECK(error_of("workers = 2.5") == "test.toml:1: key 'workers': expected an integer >= 0 and <= 1024, got 2.5");
    CHECK(error_of("reuse_port = \"yes\"") == "test.toml:1: key 'reuse_port': expected true or false, got \"yes\"");
    CHECK(error_of("timeout = \"30s\"") ==
          "test.toml:1: key 'timeout': expected a number of seconds > 0 and <= 31536000, "
          "got \"30s\"");
    CHECK(error_of("pidfile = 3") == "test.toml:1: key 'pidfile': expected a string, got 3");
    CHECK(error_of("log = 3") == "test.toml:1: key 'log': expected a table, got 3");
    CHECK(error_of("workers = [1, 2]") ==
          "test.toml:1: key 'workers': expected an integer >= 0 and <= 1024, got [1, 2]");
    CHECK(error_of("[workers]\n").starts_with("test.toml:1: key 'workers': expected an integer"));
}

TEST_CASE("out-of-range values are refused, bounds included where they belong")
{
    const char* refused[] = {
        "workers = -1",
        "workers = 1025",
        "threads = 1025",
        "offload_queue = 0",
        "offload_queue = 1000001",
        "backlog = 0",
        "backlog = 65536",
        "worker_connections = 0",
        "max_requests = -1",
        "max_requests = 2147483648",
        "max_requests_jitter = -1",
        "max_worker_rss = -1",
        "recycle_concurrency = 0",
        "timeout = 0",
        "timeout = -1",
        "timeout = inf",
        "timeout = nan",
        "timeout = 31536001",
        "graceful_timeout = -0.5",
        "keepalive = -1",
        "header_timeout = 0",
        "limit_request_line = 0",
        "limit_request_line = 63",
        "limit_request_line = 65537",
        "limit_request_fields = 0",
        "limit_request_fields = 32769",
        "limit_request_field_size = 63",
        "limit_request_field_size = 65537",
        "max_body_size = -1",
        "umask = 0o1000",
        "umask = -1",
        "umask = \"0999\"",
        "umask = \"8\"",
        "umask = \"\"",
        "umask = \"00000\"",
        "[endpoints]\nfib_max_n = 93",
        "[endpoints]\nfib_max_n = -1",
        "[endpoints]\nsleep_max_ms = 3600001",
        "[stats]\ninterval = -1",
    };
    for (const char* text : refused) {
        CAPTURE(text);
        CHECK(error_of(text).find("expected") != std::string::npos);
    }
    const char* accepted[] = {
        "workers = 0",
        "workers = 1024",
        "threads = 0",
        "offload_queue = 1000000",
        "backlog = 65535",
        "max_requests = 2147483647",
        "recycle_concurrency = 1",
        "timeout = 0.001",
        "graceful_timeout = 0",
        "keepalive = 0",
        "limit_request_line = 64",
        "limit_request_line = 65536",
        "limit_request_fields = 32768",
        "max_body_size = 9223372036854775807",
        "umask = 0o777",
        "umask = 0",
        "umask = \"0777\"",
        "[endpoints]\nfib_max_n = 92",
        "[endpoints]\nsleep_max_ms = 0",
        "[stats]\ninterval = 0",
    };
    for (const char* text : accepted) {
        CAPTURE(text);
        CHECK(error_of(text) == "");
    }
}

TEST_CASE("values are converted into the settings")
{
    const Settings s = load_text(R"(
        bind = ["0.0.0.0:80", "[::1]:8000", "localhost:9000", "[0:0::0]:81"]
        workers = 3
        timeout = 2.5
        keepalive = 5
        umask = "027"
        max_body_size = 5000000000
        [log]
        level = "debug"
        access_log_format = "json"
        [stats]
        allow = "10.0.0.0/8"
        bind = "127.0.0.1:9100"
        [endpoints]
        hello_mode = "offload"
        sleep_mode = "block"
        fib_mode = "inline"
        fibo_sleep_mode = "baseline"
    )");
    REQUIRE(s.bind.size() == 4);
    CHECK(s.bind[0] == BindAddress{"0.0.0.0", 80});
    CHECK(s.bind[1] == BindAddress{"::1", 8000});
    CHECK(s.bind[2] == BindAddress{"127.0.0.1", 9000});
    CHECK(s.bind[3] == BindAddress{"::", 81});
    CHECK(s.workers == 3);
    CHECK(s.timeout == 2.5);
    CHECK(s.keepalive == 5.0);
    CHECK(s.umask == 027);
    CHECK(s.max_body_size == 5000000000);
    CHECK(s.log.level == "debug");
    CHECK(s.log.access_log_format == "json");
    CHECK(s.stats.allow == std::vector<std::string>{"10.0.0.0/8"});
    CHECK(s.stats.bind == "127.0.0.1:9100");
    CHECK(s.endpoints.hello_mode == "offload");
    CHECK(s.endpoints.sleep_mode == "block");
    CHECK(s.endpoints.fib_mode == "inline");
    CHECK(s.endpoints.fibo_sleep_mode == "baseline");
    CHECK(load_text("bind = \"[::]:8080\"").bind == std::vector<BindAddress>{{"::", 8080}});
    CHECK(load_text("umask = 0o077").umask == 077);
}

TEST_CASE("a bad bind names the line of the bad element")
{
    CHECK(error_of("bind = [\"127.0.0.1:8000\",\n        \"nope\"]\n") ==
          "test.toml:2: key 'bind': expected \"host:port\" or \"[ipv6]:port\" with a port "
          "1..65535, or an array of them, got \"nope\"");
    CHECK(error_of("bind = 8000").starts_with("test.toml:1: key 'bind': expected"));
    CHECK(error_of("bind = [\"127.0.0.1:8000\", 8001]").ends_with("got 8001"));
}

TEST_CASE("modes, levels and formats must be one of their names")
{
    CHECK(error_of("[endpoints]\nsleep_mode = \"async\"\n") ==
          "test.toml:2: key 'endpoints.sleep_mode': expected one of \"timer\", \"offload\", "
          "\"block\", got \"async\"");
    CHECK(error_of("[endpoints]\nhello_mode = 1").find("one of \"inline\", \"offload\"") != std::string::npos);
    CHECK(error_of("[endpoints]\nfibo_sleep_mode = \"timer\"")
              .find("one of \"par\", \"async\", \"baseline\", \"offload\"") != std::string::npos);
    CHECK(error_of("[log]\nlevel = \"loud\"") ==
          "test.toml:2: key 'log.level': expected one of \"trace\", \"debug\", \"info\", "
          "\"warning\", \"error\", \"critical\", \"off\", got \"loud\"");
    CHECK(error_of("[log]\naccess_log_format = \"common\"") ==
          "test.toml:2: key 'log.access_log_format': expected one of \"combined\", \"json\", "
          "got \"common\"");
}

TEST_CASE("stats.allow and stats.bind are checked where they are written")
{
    CHECK(error_of("[stats]\nallow = [\"127.0.0.0/8\",\n  \"10.0.0.0/33\"]") ==
          "test.toml:3: key 'stats.allow': expected an array of CIDRs like \"127.0.0.0/8\" or "
          "\"::1/128\", got \"10.0.0.0/33\"");
    CHECK(error_of("[stats]\nallow = [\"::1/129\"]").starts_with("test.toml:2: key 'stats.allow'"));
    CHECK(error_of("[stats]\nallow = [\"10.0.0.1\"]").ends_with("got \"10.0.0.1\""));
    CHECK(error_of("[stats]\nbind = \"nope\"").starts_with("test.toml:2: key 'stats.bind'"));
    CHECK(error_of("[stats]\nallow = []\nbind = \"\"") == "");
}

TEST_CASE("syntax errors give file:line:column and toml++'s description")
{
    const std::string message = error_of("workers = 2\ny = = 2\n");
    CHECK(message.starts_with("test.toml:2:5: "));
    CHECK(message.size() > std::string("test.toml:2:5: ").size());
    CHECK(error_of("[log\n").starts_with("test.toml:1:"));
    CHECK(error_of("workers = 1\nworkers = 2\n").starts_with("test.toml:2:"));
}

TEST_CASE("a document with an error changes nothing")
{
    Settings settings;
    CHECK_THROWS_AS(apply_toml(settings, "workers = 7\nthreads = -1\n", "test.toml"), ConfigError);
    CHECK(settings.workers == 0);
    CHECK(settings.threads == 4);
}

TEST_CASE("apply_file reports unreadable files and records the path")
{
    Settings settings;
    try {
        apply_file(settings, "/nonexistent/forkd.toml");
        FAIL("no error");
    } catch (const ConfigError& error) {
        CHECK(std::string(error.what()) == "/nonexistent/forkd.toml: cannot open: No such file or directory");
    }
    CHECK_THROWS_AS(apply_file(settings, "/"), ConfigError);
    CHECK(settings.config_path.empty());
}

TEST_CASE("render_toml round trip: every key, read back to the same settings")
{
    Settings s;
    s.config_path = "conf/odd.toml";
    s.bind = {{"0.0.0.0", 80}, {"::1", 8443}};
    s.workers = 9;
    s.threads = 0;
    s.reuse_port = false;
    s.max_body_size = 5000000000;
    s.timeout = 0.1;
    s.keepalive = 0;
    s.header_timeout = 2.75;
    s.pidfile = "/run/forkd \"x\".pid";
    s.user = "wörker";
    s.umask = 027;
    s.log.level = "debug";
    s.log.access_log = "C:\\logs\\a\tb";
    s.log.access_log_format = "json";
    s.stats.allow = {};
    s.stats.bind = "[::]:9100";
    s.stats.interval = 1e-3;
    s.endpoints.fib_max_n = 92;
    s.endpoints.sleep_mode = "offload";
    s.endpoints.fibo_sleep_mode = "offload";

    const std::string rendered = render_toml(s);
    CAPTURE(rendered);
    CHECK(rendered.starts_with("# forkd configuration in effect, from conf/odd.toml\n"));
    Settings back;
    apply_toml(back, rendered, "rendered.toml");
    CHECK(body(back) == body(s));
    CHECK(back.timeout == 0.1);
    CHECK(back.umask == 027);
    CHECK(back.pidfile == s.pidfile);
    CHECK(back.log.access_log == s.log.access_log);
    CHECK(back.bind == s.bind);
    CHECK(rendered.find("umask = 0o027\n") != std::string::npos);

    // Every key of the table is present in the rendered document.
    const toml::table document = toml::parse(rendered);
    for (const auto& key : detail::keys()) {
        CAPTURE(key.dotted());
        CHECK(document.at_path(key.dotted()));
    }
}

TEST_CASE("conf/forkd.toml holds every key, at its default")
{
    const std::string path = FORKD_SOURCE_ROOT "/conf/forkd.toml";
    Settings settings;
    apply_file(settings, path);
    CHECK(settings.config_path == path);
    CHECK(body(settings) == body(Settings{}));
    CHECK_NOTHROW(validate(settings));

    const toml::table document = toml::parse_file(path);
    for (const auto& key : detail::keys()) {
        CAPTURE(key.dotted());
        CHECK(document.at_path(key.dotted()));
    }
}
