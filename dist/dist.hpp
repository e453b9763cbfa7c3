// rewind::dist, data-parallel training over MPI: the umbrella header.
#pragma once

#include "agreement.hpp"
#include "context.hpp"
#include "gradients.hpp"
#include "parameters.hpp"
#include "shard.hpp"
