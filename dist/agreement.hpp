// Errors every rank agrees on. When one rank finds a problem the others
// cannot see (its input file is bad, its model differs), throwing on that
// rank alone would leave the others waiting forever in the next collective.
// Instead every rank reports what it found, all ranks compare, and if any
// failed every rank throws the same CollectiveError naming the rank(s) and
// the cause, so the whole job stops cleanly.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "../autograd/engine.hpp"
#include "context.hpp"

namespace rwd::dist {

// Thrown on every rank at once, with the same message.
struct CollectiveError : Error {
  using Error::Error;
};

// Every rank's string, in rank order (collective).
std::vector<std::string> allgather_strings(const Context& context, const std::string& mine);

// Collective: `error` is this rank's problem (nullopt when it has none). If
// any rank has one, throws CollectiveError on every rank: the message itself
// when every rank reported the same one, otherwise "rank r of n: <message>"
// for the first failing rank, plus how many others failed.
void agree(const Context& context, const std::optional<std::string>& error);

// Collective: runs `part` on this rank and agrees on the outcome: any
// std::exception it throws on any rank becomes a CollectiveError on every rank.
void agree_on(const Context& context, const std::function<void()>& part);

}  // namespace rwd::dist
