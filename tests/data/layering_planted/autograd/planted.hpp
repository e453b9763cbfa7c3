// A wrong include planted for the layering_catches_a_wrong_include test: autograd/ knows nothing of nn/.
#pragma once
#include "../nn/module.hpp"
