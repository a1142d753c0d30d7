// The one table of errno names ("ECONNREFUSED"), used for metric labels,
// event fields and messages everywhere in netobs. Pure functions; any thread.
#pragma once

#include <string>

namespace netobs {

// The symbolic name of an errno value: Linux's user-visible errors (1..133)
// plus the kernel-internal ones a traced syscall can still return
// (ERESTARTSYS = 512 ...). nullptr for 0, negative or unassigned values.
const char* errno_symbol(int err);

// errno_symbol(err), or "E<number>" when the value has no name.
std::string errno_name(int err);

// The C library's sentence for an errno ("Connection refused"), for messages.
std::string errno_text(int err);

// errno_text with the name, for messages: "Operation not permitted (EPERM)".
std::string errno_message(int err);

}  // namespace netobs
