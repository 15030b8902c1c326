// app/echo.cpp: the echo format (see echo.hpp).
//
// Plain string building; every field is base64, so nothing needs JSON
// escaping.
#include "app/echo.hpp"

#include <cstdint>

namespace forkd::app {

namespace {

constexpr char base64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void append_field(std::string& out, std::string_view key, std::string_view value)
{
    out += '"';
    out += key;
    out += "\":\"";
    append_base64(value, out);
    out += '"';
}

}  // namespace

void append_base64(std::string_view bytes, std::string& out)
{
    out.reserve(out.size() + (bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        uint32_t n = uint32_t(uint8_t(bytes[i])) << 16 | uint32_t(uint8_t(bytes[i + 1])) << 8 | uint8_t(bytes[i + 2]);
        out += base64_alphabet[n >> 18 & 63];
        out += base64_alphabet[n >> 12 & 63];
        out += base64_alphabet[n >> 6 & 63];
        out += base64_alphabet[n & 63];
    }
    std::size_t rest = bytes.size() - i;
    if (rest == 0)
        return;
    uint32_t n = uint32_t(uint8_t(bytes[i])) << 16;
    if (rest == 2)
        n |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out += base64_alphabet[n >> 18 & 63];
    out += base64_alphabet[n >> 12 & 63];
    out += rest == 2 ? base64_alphabet[n >> 6 & 63] : '=';
    out += '=';
}

http::Response echo_response(const http::Request& request)
{
    http::Response response;
    std::string& out = response.body;
    out += '{';
    append_field(out, "method", request.method_name());
    out += ',';
    append_field(out, "uri", request.raw_target);
    out += ',';
    const char version[] = {char('0' + request.version_major), '.', char('0' + request.version_minor)};
    append_field(out, "version", std::string_view(version, sizeof version));
    out += ",\"headers\":[";
    for (std::size_t i = 0; i < request.field_count && i < request.fields.size(); ++i) {
        if (i > 0)
            out += ',';
        out += "[\"";
        append_base64(request.fields[i].name, out);
        out += "\",\"";
        append_base64(request.fields[i].value, out);
        out += "\"]";
    }
    out += "],";
    append_field(out, "body", request.body);
    out += '}';
    return response;
}

}  // namespace forkd::app
