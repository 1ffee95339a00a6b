#pragma once

// The one way into Boost.Asio (and Beast): every file that uses them includes this first.
// GCC 12 with Boost 1.74 needs <utility> before any Asio header (Asio uses std::exchange
// without including it); here that order cannot be lost to an include sorter. The parts most
// files use come with it; a file that needs more (SSL, Beast) includes those after this.
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
