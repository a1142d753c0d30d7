// `netobs check`: validates a config and prints what this machine offers each
// collector (preflight, attach type per program) with the fix for what is missing.
#pragma once

#include "exporter/subcommand.h"

namespace netobs {

Subcommand check_subcommand();

}  // namespace netobs
