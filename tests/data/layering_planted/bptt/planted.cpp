// A wrong include planted for the layering_catches_a_wrong_include test: bptt/ may use autograd's kernels only.
#include "../autograd/ops.hpp"
