// The MPI datatype of a scalar type (internal to dist/).
#pragma once

#include <mpi.h>

namespace rwd::dist {

template <class T>
MPI_Datatype mpi_type();
template <>
inline MPI_Datatype mpi_type<float>() { return MPI_FLOAT; }
template <>
inline MPI_Datatype mpi_type<double>() { return MPI_DOUBLE; }

}  // namespace rwd::dist
