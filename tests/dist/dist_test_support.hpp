// Shared by the rewind::dist tests: the job's Context (made by main.cpp).
#pragma once

#include <rewind/dist/dist.hpp>

const rwd::dist::Context& mpi();
