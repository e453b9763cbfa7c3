# Doxygen input filter (cmake/RewindDocs.cmake): Rewind's headers use plain
# `//` comments, which Doxygen ignores. This prints each header with
#   - its opening comment block as the file's documentation (\file),
#   - every other whole-line `//` comment as `///` (documents what follows),
#   - a trailing `code;  // note` as `code;  ///< note` (documents that member).
BEGIN { opening = 1 }
opening && /^\/\/( |$)/ {
  text = substr($0, 3)
  if (!started) { print "/// \\file"; started = 1 }
  print "///" text
  next
}
{ opening = 0 }
/^[ \t]*\/\/( |$)/ { sub(/\/\//, "///"); print; next }
/^[ \t]*[^ \t\/#"][^"]*[;,{)][ \t]+\/\/ / { sub(/[ \t]+\/\/ /, "  ///< "); print; next }
{ print }
