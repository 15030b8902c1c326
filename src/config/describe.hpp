// config/describe.hpp: the key table as text for the manual.
//
// `forkd --list-keys` prints it; the man page's build (src/man/) turns it
// into the CONFIGURATION section, so a key added to config/keys.cpp appears
// in forkd(8) without a hand edit. Must not describe a key any other way
// than the table and render_toml() do.
#pragma once

#include <string>

namespace forkd::config {

// One line per key, in the table's order: "dotted<TAB>default<TAB>values",
// e.g. "workers\t0\tan integer >= 0 and <= 1024".
std::string list_keys();

}  // namespace forkd::config
