// The one errno table: names for every Linux errno, the kernel-internal
// codes, and the fallbacks for values without a name.
#include "exporter/errno_name.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <string>

namespace netobs {
namespace {

TEST(ErrnoName, NamesTheCommonSocketErrorsByTheirConstants) {
  EXPECT_STREQ(errno_symbol(EPERM), "EPERM");
  EXPECT_STREQ(errno_symbol(EACCES), "EACCES");
  EXPECT_STREQ(errno_symbol(EAGAIN), "EAGAIN");  // EWOULDBLOCK has the same value
  EXPECT_STREQ(errno_symbol(EPIPE), "EPIPE");
  EXPECT_STREQ(errno_symbol(ECONNRESET), "ECONNRESET");
  EXPECT_STREQ(errno_symbol(ECONNREFUSED), "ECONNREFUSED");
  EXPECT_STREQ(errno_symbol(ETIMEDOUT), "ETIMEDOUT");
  EXPECT_STREQ(errno_symbol(EHOSTUNREACH), "EHOSTUNREACH");
  EXPECT_STREQ(errno_symbol(EINPROGRESS), "EINPROGRESS");
  EXPECT_STREQ(errno_symbol(EHWPOISON), "EHWPOISON");  // the last one, 133
}

// The table is written out by hand; glibc's strerrorname_np is the
// independent truth for every value it knows.
TEST(ErrnoName, AgreesWithTheCLibraryForEveryValueItNames) {
  for (int err = 1; err <= 133; ++err) {
    const char* libc = strerrorname_np(err);
    const char* ours = errno_symbol(err);
    if (libc == nullptr) {
      EXPECT_EQ(ours, nullptr) << err;
    } else {
      ASSERT_NE(ours, nullptr) << err;
      EXPECT_STREQ(ours, libc) << err;
    }
  }
}

TEST(ErrnoName, NamesKernelInternalCodes) {
  EXPECT_STREQ(errno_symbol(512), "ERESTARTSYS");
  EXPECT_STREQ(errno_symbol(516), "ERESTART_RESTARTBLOCK");
  EXPECT_STREQ(errno_symbol(531), "ENOGRACE");
  EXPECT_EQ(errno_symbol(520), nullptr);  // unassigned in include/linux/errno.h
}

TEST(ErrnoName, FallsBackToTheNumber) {
  EXPECT_EQ(errno_symbol(0), nullptr);
  EXPECT_EQ(errno_symbol(-1), nullptr);
  EXPECT_EQ(errno_symbol(41), nullptr);  // unused in Linux
  EXPECT_EQ(errno_name(41), "E41");
  EXPECT_EQ(errno_name(9999), "E9999");
  EXPECT_EQ(errno_name(0), "E0");
  EXPECT_EQ(errno_name(ECONNREFUSED), "ECONNREFUSED");
}

TEST(ErrnoName, NamesAreUnique) {
  std::set<std::string> seen;
  for (int err = 1; err < 600; ++err) {
    if (const char* name = errno_symbol(err)) {
      EXPECT_TRUE(seen.insert(name).second) << name;
    }
  }
  EXPECT_EQ(seen.size(), 131u + 19u);  // 133 minus the 2 unused, plus 19 kernel-internal
}

TEST(ErrnoName, MessagesCarryTextAndName) {
  EXPECT_EQ(errno_text(EPERM), std::string(std::strerror(EPERM)));
  EXPECT_EQ(errno_message(EPERM), "Operation not permitted (EPERM)");
  EXPECT_EQ(errno_message(ENOENT), "No such file or directory (ENOENT)");
  // A copy: glibc frees strerror's text for an unknown value on its next call.
  const std::string unknown = std::strerror(9999);
  EXPECT_EQ(errno_message(9999), unknown);  // no name to add
}

}  // namespace
}  // namespace netobs
