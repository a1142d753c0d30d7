#include "exporter/errno_name.h"

#include <array>
#include <cstring>

namespace netobs {
namespace {

// Linux errno values 1..133 (asm-generic/errno-base.h and errno.h); the
// table is written out rather than taken from strerrorname_np so that the
// labels do not depend on the C library's version. 41 and 58 are unused.
// Four per row, numbered, so a value is easy to find.
// clang-format off
constexpr std::array<const char*, 133> kUserErrnos = {
    "EPERM", "ENOENT", "ESRCH", "EINTR",  // 1-4
    "EIO", "ENXIO", "E2BIG", "ENOEXEC",  // 5-8
    "EBADF", "ECHILD", "EAGAIN", "ENOMEM",  // 9-12
    "EACCES", "EFAULT", "ENOTBLK", "EBUSY",  // 13-16
    "EEXIST", "EXDEV", "ENODEV", "ENOTDIR",  // 17-20
    "EISDIR", "EINVAL", "ENFILE", "EMFILE",  // 21-24
    "ENOTTY", "ETXTBSY", "EFBIG", "ENOSPC",  // 25-28
    "ESPIPE", "EROFS", "EMLINK", "EPIPE",  // 29-32
    "EDOM", "ERANGE", "EDEADLK", "ENAMETOOLONG",  // 33-36
    "ENOLCK", "ENOSYS", "ENOTEMPTY", "ELOOP",  // 37-40
    nullptr, "ENOMSG", "EIDRM", "ECHRNG",  // 41-44
    "EL2NSYNC", "EL3HLT", "EL3RST", "ELNRNG",  // 45-48
    "EUNATCH", "ENOCSI", "EL2HLT", "EBADE",  // 49-52
    "EBADR", "EXFULL", "ENOANO", "EBADRQC",  // 53-56
    "EBADSLT", nullptr, "EBFONT", "ENOSTR",  // 57-60
    "ENODATA", "ETIME", "ENOSR", "ENONET",  // 61-64
    "ENOPKG", "EREMOTE", "ENOLINK", "EADV",  // 65-68
    "ESRMNT", "ECOMM", "EPROTO", "EMULTIHOP",  // 69-72
    "EDOTDOT", "EBADMSG", "EOVERFLOW", "ENOTUNIQ",  // 73-76
    "EBADFD", "EREMCHG", "ELIBACC", "ELIBBAD",  // 77-80
    "ELIBSCN", "ELIBMAX", "ELIBEXEC", "EILSEQ",  // 81-84
    "ERESTART", "ESTRPIPE", "EUSERS", "ENOTSOCK",  // 85-88
    "EDESTADDRREQ", "EMSGSIZE", "EPROTOTYPE", "ENOPROTOOPT",  // 89-92
    "EPROTONOSUPPORT", "ESOCKTNOSUPPORT", "EOPNOTSUPP", "EPFNOSUPPORT",  // 93-96
    "EAFNOSUPPORT", "EADDRINUSE", "EADDRNOTAVAIL", "ENETDOWN",  // 97-100
    "ENETUNREACH", "ENETRESET", "ECONNABORTED", "ECONNRESET",  // 101-104
    "ENOBUFS", "EISCONN", "ENOTCONN", "ESHUTDOWN",  // 105-108
    "ETOOMANYREFS", "ETIMEDOUT", "ECONNREFUSED", "EHOSTDOWN",  // 109-112
    "EHOSTUNREACH", "EALREADY", "EINPROGRESS", "ESTALE",  // 113-116
    "EUCLEAN", "ENOTNAM", "ENAVAIL", "EISNAM",  // 117-120
    "EREMOTEIO", "EDQUOT", "ENOMEDIUM", "EMEDIUMTYPE",  // 121-124
    "ECANCELED", "ENOKEY", "EKEYEXPIRED", "EKEYREVOKED",  // 125-128
    "EKEYREJECTED", "EOWNERDEAD", "ENOTRECOVERABLE", "ERFKILL",  // 129-132
    "EHWPOISON",  // 133
};
// clang-format on

struct KernelErrno {
  int err;
  const char* name;
};

// include/linux/errno.h: never meant to reach user space, but syscall
// tracepoints see them (an interrupted recv ends with ERESTARTSYS).
constexpr KernelErrno kKernelErrnos[] = {
    {512, "ERESTARTSYS"},
    {513, "ERESTARTNOINTR"},
    {514, "ERESTARTNOHAND"},
    {515, "ENOIOCTLCMD"},
    {516, "ERESTART_RESTARTBLOCK"},
    {517, "EPROBE_DEFER"},
    {518, "EOPENSTALE"},
    {519, "ENOPARAM"},
    {521, "EBADHANDLE"},
    {522, "ENOTSYNC"},
    {523, "EBADCOOKIE"},
    {524, "ENOTSUPP"},
    {525, "ETOOSMALL"},
    {526, "ESERVERFAULT"},
    {527, "EBADTYPE"},
    {528, "EJUKEBOX"},
    {529, "EIOCBQUEUED"},
    {530, "ERECALLCONFLICT"},
    {531, "ENOGRACE"},
};

}  // namespace

const char* errno_symbol(int err) {
  if (err >= 1 && err <= static_cast<int>(kUserErrnos.size())) return kUserErrnos[err - 1];
  for (const KernelErrno& entry : kKernelErrnos) {
    if (entry.err == err) return entry.name;
  }
  return nullptr;
}

std::string errno_name(int err) {
  const char* symbol = errno_symbol(err);
  return symbol != nullptr ? std::string(symbol) : "E" + std::to_string(err);
}

std::string errno_text(int err) { return std::string(std::strerror(err)); }

std::string errno_message(int err) {
  const char* symbol = errno_symbol(err);
  return symbol != nullptr ? errno_text(err) + " (" + symbol + ")" : errno_text(err);
}

}  // namespace netobs
