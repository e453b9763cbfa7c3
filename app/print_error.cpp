// The one-line error every command ends with.
#include <fmt/core.h>

#include "commands.hpp"

namespace rwd::app {

void print_error(std::FILE* to, const std::string& what) {
  std::string message = what;
  for (std::size_t at; (at = message.find('\n')) != std::string::npos;) {
    std::size_t end = at + 1;
    while (end < message.size() && message[end] == ' ') ++end;
    const bool after_colon = at > 0 && message[at - 1] == ':';
    message.replace(at, end - at, end == message.size() ? "" : after_colon ? " " : "; ");
  }
  fmt::print(to, "rewind: error: {}\n", message);
  std::fflush(to);
}

}  // namespace rwd::app
