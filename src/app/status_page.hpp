// app/status_page.hpp: the bytes of GET /status, as built from src/app/status.html.
//
// The page is kept as a real HTML file; meson turns it into status_page.cpp
// at build time (src/app/embed.py), so this header is all the C++ that names
// it. endpoints.cpp wraps it in a response.
#pragma once

#include <string_view>

namespace forkd::app {

// status.html, byte for byte.
std::string_view status_page_html();

}  // namespace forkd::app
