# Warnings are errors in the project's own code; dependency headers are SYSTEM.
# GCC 12's flow-based warnings fire inside inlined xtensor storage code
# (svector small-buffer paths) and libstdc++ string code (GCC bug 105329);
# they are known false positives there, so those four are off.
function(rewind_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Werror
    -Wno-maybe-uninitialized -Wno-array-bounds -Wno-stringop-overflow -Wno-restrict)
endfunction()
