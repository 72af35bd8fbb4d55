// Did-you-mean: the closest of a few known words to a mistyped one, for the
// messages of the spec reader (keys) and the command line (commands, options).
#pragma once

#include <span>
#include <string_view>

namespace tracepack {

/// The word of `choices` closest to `text`, counting insertions, deletions,
/// substitutions and swaps of neighbours ("bulid" is one edit from "build"),
/// when it is at most two edits away; the first such word on a tie; "" when
/// none is that close.
std::string_view closest_spelling(std::string_view text, std::span<const std::string_view> choices);

}  // namespace tracepack
