// config/load.cpp: TOML in (a file, or one command-line value), TOML out.
//
// Owns reading a document with toml++, matching its keys against the key
// table (config/keys.cpp), converting and checking each value, the wording of
// errors (file:line: key 'x': expected ..., got ...) and render_toml().
// It is the only file of config/ that includes toml++. Cross-key checks are
// config/validate.cpp's; the flags themselves are config/cli.cpp's.
#include "config/load.hpp"
#include "config/keys.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

namespace forkd::config {

using detail::Access;
using detail::Key;

namespace {

// A string in TOML's basic (double-quoted) form, escaped as TOML requires.
std::string quote(std::string_view text)
{
    std::ostringstream out;
    const toml::value<std::string> value{std::string(text)};
    out << toml::toml_formatter{value, toml::format_flags::allow_unicode_strings};
    return out.str();
}

// A value as TOML would write it, for messages ("got ...").
std::string show(const toml::node& node)
{
    if (const auto* text = node.as_string()) {
        return quote(text->get());
    }
    if (const auto* number = node.as_floating_point()) {
        return fmt::format("{}", number->get());  // shortest form, not 17 digits
    }
    if (const auto* array = node.as_array()) {
        std::string text = "[";
        for (std::size_t i = 0; i < array->size(); ++i) {
            text += (i == 0 ? "" : ", ") + show(*array->get(i));
        }
        return text + "]";
    }
    if (node.is_table()) {
        return "a table";
    }
    std::ostringstream out;  // integers (keeping 0o forms) and booleans
    node.visit([&](const auto& value) { out << toml::toml_formatter{value}; });
    return out.str();
}

// Where a value came from, for the first part of its error message.
struct Origin {
    std::string_view source;  // the file's name, or "command line"
    std::string_view flag;    // "--workers" for a command-line value, else empty
};

[[noreturn]] void reject(const Origin& origin, const Key& key, const toml::node& bad)
{
    const std::string where = origin.flag.empty()
                                  ? fmt::format("{}:{}: key '{}'", origin.source, bad.source().begin.line, key.dotted())
                                  : fmt::format("{}: {}", origin.source, origin.flag);
    throw ConfigError(fmt::format("{}: expected {}, got {}", where, detail::expected(key), show(bad)));
}

bool parse_octal(std::string_view text, int64_t& out)
{
    if (text.empty() || text.size() > 4) {
        return false;
    }
    out = 0;
    for (const char digit : text) {
        if (digit < '0' || digit > '7') {
            return false;
        }
        out = out * 8 + (digit - '0');
    }
    return true;
}

// Calls take(node) for a string or for each string of an array; returns the
// first node that is no string or that take() refuses, or nullptr.
template <class Take> const toml::node* each_string(const toml::node& node, Take&& take)
{
    if (node.is_string()) {
        return take(node.as_string()->get()) ? nullptr : &node;
    }
    const auto* array = node.as_array();
    if (array == nullptr) {
        return &node;
    }
    for (const toml::node& element : *array) {
        if (!element.is_string() || !take(element.as_string()->get())) {
            return &element;
        }
    }
    return nullptr;
}

// Converts `node` into the key's field if it is valid; returns the offending
// node (the value, or one element of an array) otherwise.
struct Assign {
    const Key& key;
    const toml::node& node;
    Settings& settings;

    template <class Int>
    requires std::is_integral_v<Int>
    const toml::node* operator()(Access<Int> field) const
    {
        int64_t value = 0;
        if (const auto* integer = node.as_integer()) {
            value = integer->get();
        } else if (!(key.octal && node.is_string() && parse_octal(node.as_string()->get(), value))) {
            return &node;
        }
        if (!key.range.contains(static_cast<double>(value)) || value < std::numeric_limits<Int>::min() ||
            value > std::numeric_limits<Int>::max()) {
            return &node;
        }
        field(settings) = static_cast<Int>(value);
        return nullptr;
    }

    const toml::node* operator()(Access<double> field) const
    {
        double value = 0;
        if (const auto* integer = node.as_integer()) {
            value = static_cast<double>(integer->get());
        } else if (const auto* number = node.as_floating_point()) {
            value = number->get();
        } else {
            return &node;
        }
        if (!std::isfinite(value) || !key.range.contains(value)) {
            return &node;
        }
        field(settings) = value;
        return nullptr;
    }

    const toml::node* operator()(Access<bool> field) const
    {
        const auto* flag = node.as_boolean();
        if (flag == nullptr) {
            return &node;
        }
        field(settings) = flag->get();
        return nullptr;
    }

    const toml::node* operator()(Access<std::string> field) const
    {
        const auto* text = node.as_string();
        if (text == nullptr || !accepts(text->get())) {
            return &node;
        }
        field(settings) = text->get();
        return nullptr;
    }

    const toml::node* operator()(Access<std::vector<std::string>> field) const
    {
        std::vector<std::string> list;
        const toml::node* bad = each_string(node, [&](const std::string& text) {
            list.push_back(text);
            return accepts(text);
        });
        if (bad == nullptr) {
            field(settings) = std::move(list);
        }
        return bad;
    }

    const toml::node* operator()(Access<std::vector<BindAddress>> field) const
    {
        std::vector<BindAddress> list;
        const toml::node* bad =
            each_string(node, [&](const std::string& text) { return parse_bind(text, list.emplace_back()); });
        if (bad == nullptr) {
            field(settings) = std::move(list);
        }
        return bad;
    }

    bool accepts(std::string_view text) const
    {
        const auto choices = detail::choices_of(key);
        const bool listed =
            (!key.mode && choices.empty()) || std::find(choices.begin(), choices.end(), text) != choices.end();
        return listed && (key.valid == nullptr || key.valid(text));
    }
};

void assign(Settings& settings, const Key& key, const toml::node& node, const Origin& origin)
{
    if (const toml::node* bad = std::visit(Assign{key, node, settings}, key.field)) {
        reject(origin, key, *bad);
    }
}

// One `key = value` of the document, wherever it sits.
struct Entry {
    std::size_t line;
    std::string dotted;
    const Key* key;  // nullptr: unknown
    const toml::node* node;
};

std::vector<Entry> entries_of(const toml::table& document, const std::string& source)
{
    std::vector<Entry> entries;
    const auto& tables = detail::tables();
    for (const auto& [name, node] : document) {
        const std::size_t line = name.source().begin.line;
        const bool is_known_table = std::find(tables.begin(), tables.end(), name.str()) != tables.end();
        if (!is_known_table) {
            entries.push_back({line, std::string(name.str()), detail::find_key("", name.str()), &node});
            continue;
        }
        const auto* table = node.as_table();
        if (table == nullptr) {
            throw ConfigError(
                fmt::format("{}:{}: key '{}': expected a table, got {}", source, line, name.str(), show(node)));
        }
        for (const auto& [inner, value] : *table) {
            entries.push_back({inner.source().begin.line, fmt::format("{}.{}", name.str(), inner.str()),
                               detail::find_key(name.str(), inner.str()), &value});
        }
    }
    // toml++ keeps keys sorted by name; report the first problem in file order.
    std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) { return a.line < b.line; });
    return entries;
}

[[noreturn]] void reject_unknown(const Entry& entry, const std::string& source)
{
    const char* what = entry.node->is_table() ? "table" : "key";
    std::string message = fmt::format("{}:{}: unknown {} '{}'", source, entry.line, what, entry.dotted);
    if (const auto suggestion = detail::nearest_name(entry.dotted)) {
        message += fmt::format("; did you mean '{}'?", *suggestion);
    }
    throw ConfigError(message);
}

// How render_toml() writes the value of each kind of field.
struct Render {
    const Key& key;
    Settings& settings;

    template <class Int>
    requires std::is_integral_v<Int> std::string operator()(Access<Int> field) const
    {
        return key.octal ? fmt::format("0o{:03o}", field(settings)) : fmt::format("{}", field(settings));
    }
    std::string operator()(Access<double> field) const { return fmt::format("{}", field(settings)); }
    std::string operator()(Access<bool> field) const { return field(settings) ? "true" : "false"; }
    std::string operator()(Access<std::string> field) const { return quote(field(settings)); }
    std::string operator()(Access<std::vector<std::string>> field) const
    {
        return array(field(settings), [](const std::string& text) { return text; });
    }
    std::string operator()(Access<std::vector<BindAddress>> field) const
    {
        return array(field(settings), [](const BindAddress& bind) { return bind.to_string(); });
    }
    template <class List, class Text> static std::string array(const List& list, Text&& text)
    {
        std::string out = "[";
        for (std::size_t i = 0; i < list.size(); ++i) {
            out += (i == 0 ? "" : ", ") + quote(text(list[i]));
        }
        return out + "]";
    }
};

}  // namespace

void apply_toml(Settings& settings, std::string_view text, const std::string& source)
{
    toml::table document;
    try {
        document = toml::parse(text, std::string_view(source));
    } catch (const toml::parse_error& error) {
        throw ConfigError(fmt::format("{}:{}:{}: {}", source, error.source().begin.line, error.source().begin.column,
                                      error.description()));
    }
    // Work on a copy: a document with an error changes nothing.
    Settings updated = settings;
    for (const Entry& entry : entries_of(document, source)) {
        if (entry.key == nullptr) {
            reject_unknown(entry, source);
        }
        assign(updated, *entry.key, *entry.node, Origin{source, {}});
    }
    settings = std::move(updated);
}

void apply_file(Settings& settings, const std::string& path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw ConfigError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    }
    std::string text;
    char buffer[16384];
    ssize_t got = 0;
    while ((got = ::read(fd, buffer, sizeof buffer)) != 0) {
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            const int error = errno;
            ::close(fd);
            throw ConfigError(fmt::format("{}: cannot read: {}", path, std::strerror(error)));
        }
        text.append(buffer, static_cast<std::size_t>(got));
    }
    ::close(fd);
    apply_toml(settings, text, path);
    settings.config_path = path;
}

std::string render_toml(const Settings& settings)
{
    Settings copy = settings;  // the key table's accessors take a mutable Settings
    std::string out = settings.config_path.empty()
                          ? "# forkd configuration in effect (no file: built-in defaults)\n"
                          : fmt::format("# forkd configuration in effect, from {}\n", settings.config_path);
    std::string_view table;
    for (const Key& key : detail::keys()) {
        if (key.table != table) {
            table = key.table;
            out += fmt::format("\n[{}]\n", table);
        }
        out += fmt::format("{} = {}\n", key.name, std::visit(Render{key, copy}, key.field));
    }
    return out;
}

namespace detail {

void apply_override(Settings& settings, const Key& key, const Override& value, std::string_view flag)
{
    // Build the TOML value the file would have held, and check it the same way.
    toml::array holder;
    std::visit(
        [&](const auto& given) {
            if constexpr (std::is_same_v<std::decay_t<decltype(given)>, std::vector<std::string>>) {
                toml::array list;
                for (const std::string& text : given) {
                    list.push_back(text);
                }
                holder.push_back(std::move(list));
            } else {
                holder.push_back(given);
            }
        },
        value);
    assign(settings, key, *holder.get(0), Origin{"command line", flag});
}

}  // namespace detail

}  // namespace forkd::config
