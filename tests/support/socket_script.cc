// netobs_socket_script: a known script of loopback traffic for the socket
// collector's tests. Every operation it makes is printed as one
// tab-separated line, with the result the kernel gave it, so the test can
// compare the exporter's CSV rows and /metrics counts exactly:
//   op <TCP|UDP> <4|6> <src> <dst> <sport> <dport> <size> <send|receive>
//      <syscall 1|0> <errno name or -> <flags as int>
// The first line is `pid <pid>`. Its comm is "netobs_socket_s" (15 chars).
//
// Modes: `script` (default) the full scenario; `burst N` N UDP sends of 1
// byte on loopback (ring-buffer overflow test); `fold NAME...` renames the
// thread to each NAME and sends 1 byte over UDP under it.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "exporter/errno_name.h"

namespace {

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "netobs_socket_script: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

void check(bool ok, const std::string& what) {
  if (!ok) die(what);
}

struct Endpoint {
  int family = AF_INET;
  std::string addr;
  int port = 0;
};

Endpoint local_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  check(getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0, "getsockname");
  Endpoint e;
  char text[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    e.port = ntohs(in->sin_port);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    e.family = AF_INET6;
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
    e.port = ntohs(in6->sin6_port);
  }
  e.addr = text;
  // IPv4-mapped IPv6 is reported as IPv4.
  if (e.addr.rfind("::ffff:", 0) == 0 && e.addr.find('.') != std::string::npos) {
    e.addr = e.addr.substr(7);
    e.family = AF_INET;
  }
  return e;
}

Endpoint peer_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  check(getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0, "getpeername");
  Endpoint e;
  char text[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    e.port = ntohs(in->sin_port);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    e.family = AF_INET6;
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
    e.port = ntohs(in6->sin6_port);
  }
  e.addr = text;
  if (e.addr.rfind("::ffff:", 0) == 0 && e.addr.find('.') != std::string::npos) {
    e.addr = e.addr.substr(7);
    e.family = AF_INET;
  }
  return e;
}

// "-" for success, else the errno's name as the exporter prints it.
std::string errno_label(int err) { return err == 0 ? "-" : netobs::errno_name(err); }

// Both ends of a socket, taken before an operation (a reset socket has no peer).
struct Ends {
  Endpoint local;
  Endpoint peer;
};

Ends ends_of(int fd) { return {local_of(fd), peer_of(fd)}; }

// Prints one operation. For a send the data goes local -> remote, for a
// receive remote -> local.
void record(const char* proto, const Ends& ends, long ret, int err, const char* direction,
            bool syscall, int flags) {
  const bool send = std::strcmp(direction, "send") == 0;
  const Endpoint& src = send ? ends.local : ends.peer;
  const Endpoint& dst = send ? ends.peer : ends.local;
  std::printf("op\t%s\t%d\t%s\t%s\t%d\t%d\t%ld\t%s\t%d\t%s\t%d\n", proto,
              ends.local.family == AF_INET ? 4 : 6, src.addr.c_str(), dst.addr.c_str(), src.port,
              dst.port, ret > 0 ? ret : 0, direction, syscall ? 1 : 0, errno_label(err).c_str(),
              flags);
}

struct Op {
  long ret;
  int err;
};

Op do_send_as(const char* proto, int fd, const Ends& ends, size_t size, int flags, bool expect_ok) {
  std::vector<char> buf(size, 'n');
  errno = 0;
  long ret = send(fd, buf.data(), size, flags);
  int err = ret < 0 ? errno : 0;
  if (expect_ok && ret != static_cast<long>(size)) die("send of " + std::to_string(size));
  record(proto, ends, ret, err, "send", true, flags);
  return {ret, err};
}

Op do_send(const char* proto, int fd, size_t size, int flags) {
  return do_send_as(proto, fd, ends_of(fd), size, flags, true);
}

Op do_recv(const char* proto, int fd, size_t size, int flags) {
  std::vector<char> buf(size);
  const Ends ends = ends_of(fd);
  errno = 0;
  long ret = recv(fd, buf.data(), size, flags);
  int err = ret < 0 ? errno : 0;
  record(proto, ends, ret, err, "receive", true, flags);
  return {ret, err};
}

void wait_readable(int fd, short events, size_t bytes = 0) {
  for (int i = 0; i < 500; ++i) {
    pollfd p{fd, events, 0};
    if (poll(&p, 1, 10) > 0 && (p.revents & (events | POLLERR | POLLHUP))) {
      if (bytes == 0) return;
      int queued = 0;
      if (ioctl(fd, FIONREAD, &queued) == 0 && static_cast<size_t>(queued) >= bytes) return;
    }
  }
  die("timed out waiting for the socket");
}

sockaddr_storage loopback(int family, int port, bool mapped = false) {
  sockaddr_storage ss{};
  if (family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(port));
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    if (mapped) {
      inet_pton(AF_INET6, "::ffff:127.0.0.1", &in6->sin6_addr);
    } else {
      in6->sin6_addr = in6addr_loopback;
    }
  }
  return ss;
}

socklen_t len_of(int family) {
  return family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
}

struct TcpPair {
  int client = -1;
  int server = -1;
};

// listener on 127.0.0.1 / ::1; the client may use an IPv4-mapped address.
TcpPair tcp_pair(int family, bool mapped_client = false) {
  int listener = socket(family, SOCK_STREAM, 0);
  check(listener >= 0, "socket");
  sockaddr_storage addr = loopback(family, 0);
  check(bind(listener, reinterpret_cast<sockaddr*>(&addr), len_of(family)) == 0, "bind");
  check(listen(listener, 4) == 0, "listen");
  int port = local_of(listener).port;
  int client_family = mapped_client ? AF_INET6 : family;
  TcpPair pair;
  pair.client = socket(client_family, SOCK_STREAM, 0);
  check(pair.client >= 0, "socket");
  sockaddr_storage to = loopback(client_family, port, mapped_client);
  check(connect(pair.client, reinterpret_cast<sockaddr*>(&to), len_of(client_family)) == 0,
        "connect");
  pair.server = accept(listener, nullptr, nullptr);
  check(pair.server >= 0, "accept");
  close(listener);
  int one = 1;
  setsockopt(pair.client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return pair;
}

int udp_bound(int family) {
  int fd = socket(family, SOCK_DGRAM, 0);
  check(fd >= 0, "socket");
  sockaddr_storage addr = loopback(family, 0);
  check(bind(fd, reinterpret_cast<sockaddr*>(&addr), len_of(family)) == 0, "bind");
  return fd;
}

void udp_connect(int fd, int family, int port) {
  sockaddr_storage to = loopback(family, port);
  check(connect(fd, reinterpret_cast<sockaddr*>(&to), len_of(family)) == 0, "connect");
}

void tcp_scenario(int family, bool mapped) {
  TcpPair p = tcp_pair(family, mapped);
  do_send("TCP", p.client, 1000, 0);
  do_recv("TCP", p.server, 1000, MSG_WAITALL);
  // MSG_MORE corks; the next plain send pushes both.
  do_send("TCP", p.client, 100, MSG_MORE);
  do_send("TCP", p.client, 200, MSG_NOSIGNAL);
  wait_readable(p.server, POLLIN, 300);
  do_recv("TCP", p.server, 300, MSG_PEEK);
  do_recv("TCP", p.server, 300, MSG_WAITALL);
  // Nothing queued: EAGAIN.
  Op none = do_recv("TCP", p.server, 64, MSG_DONTWAIT);
  if (none.err != EAGAIN) die("expected EAGAIN");
  do_send("TCP", p.client, 10, MSG_DONTROUTE);
  do_recv("TCP", p.server, 10, MSG_WAITALL);
  if (!mapped) {
    // write()/read(): no socket syscall, so no flags and no latency.
    char buf[64] = {};
    long w = write(p.client, buf, 20);
    record("TCP", ends_of(p.client), w, w < 0 ? errno : 0, "send", false, 0);
    wait_readable(p.server, POLLIN, 20);
    long r = read(p.server, buf, 20);
    record("TCP", ends_of(p.server), r, r < 0 ? errno : 0, "receive", false, 0);
    // Urgent data.
    do_send("TCP", p.client, 1, MSG_OOB);
    wait_readable(p.server, POLLPRI);
    do_recv("TCP", p.server, 1, MSG_OOB);
  }
  close(p.client);
  close(p.server);
}

void tcp_errors() {
  // EPIPE: the peer closed (FIN), our first send draws its RST, the next
  // send fails; MSG_NOSIGNAL keeps SIGPIPE away.
  TcpPair a = tcp_pair(AF_INET);
  const Ends a_ends = ends_of(a.client);  // the reset socket has no peer name
  close(a.server);
  wait_readable(a.client, POLLIN);
  do_send("TCP", a.client, 5, MSG_NOSIGNAL);
  wait_readable(a.client, POLLERR | POLLHUP);
  Op pipe = do_send_as("TCP", a.client, a_ends, 5, MSG_NOSIGNAL, false);
  if (pipe.err != EPIPE) die("expected EPIPE, got " + errno_label(pipe.err));
  close(a.client);

  // ECONNRESET: the peer aborts (SO_LINGER 0 sends RST); our receive fails.
  TcpPair b = tcp_pair(AF_INET);
  linger lin{1, 0};
  setsockopt(b.server, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin));
  const Ends ends = ends_of(b.client);
  close(b.server);
  wait_readable(b.client, POLLERR | POLLHUP);
  char buf[16];
  errno = 0;
  long r = recv(b.client, buf, sizeof(buf), 0);
  int err = r < 0 ? errno : 0;
  if (err != ECONNRESET) die("expected ECONNRESET");
  record("TCP", ends, r, err, "receive", true, 0);
  close(b.client);
}

void udp_scenario(int family) {
  int a = udp_bound(family);
  int b = udp_bound(family);
  udp_connect(a, family, local_of(b).port);
  udp_connect(b, family, local_of(a).port);
  do_send("UDP", a, 512, 0);
  do_recv("UDP", b, 2048, 0);
  // sendmsg / recvmsg.
  std::vector<char> data(700, 'u');
  iovec iov{data.data(), data.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  long s = sendmsg(a, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
  record("UDP", ends_of(a), s, s < 0 ? errno : 0, "send", true, MSG_DONTWAIT | MSG_NOSIGNAL);
  std::vector<char> in(2048);
  iovec riov{in.data(), in.size()};
  msghdr rmsg{};
  rmsg.msg_iov = &riov;
  rmsg.msg_iovlen = 1;
  wait_readable(b, POLLIN);
  long r = recvmsg(b, &rmsg, MSG_DONTWAIT);
  record("UDP", ends_of(b), r, r < 0 ? errno : 0, "receive", true, MSG_DONTWAIT);
  // sendmmsg / recvmmsg: one event per message.
  std::vector<char> m1(100, '1'), m2(200, '2');
  iovec v[2] = {{m1.data(), m1.size()}, {m2.data(), m2.size()}};
  mmsghdr mm[2] = {};
  mm[0].msg_hdr.msg_iov = &v[0];
  mm[0].msg_hdr.msg_iovlen = 1;
  mm[1].msg_hdr.msg_iov = &v[1];
  mm[1].msg_hdr.msg_iovlen = 1;
  int sent = sendmmsg(a, mm, 2, 0);
  if (sent != 2) die("sendmmsg");
  record("UDP", ends_of(a), 100, 0, "send", true, 0);
  record("UDP", ends_of(a), 200, 0, "send", true, 0);
  std::vector<char> r1(2048), r2(2048);
  iovec rv[2] = {{r1.data(), r1.size()}, {r2.data(), r2.size()}};
  mmsghdr rm[2] = {};
  rm[0].msg_hdr.msg_iov = &rv[0];
  rm[0].msg_hdr.msg_iovlen = 1;
  rm[1].msg_hdr.msg_iov = &rv[1];
  rm[1].msg_hdr.msg_iovlen = 1;
  wait_readable(b, POLLIN);
  int got = recvmmsg(b, rm, 2, MSG_WAITFORONE, nullptr);
  if (got != 2) die("recvmmsg");
  record("UDP", ends_of(b), 100, 0, "receive", true, MSG_WAITFORONE);
  record("UDP", ends_of(b), 200, 0, "receive", true, MSG_WAITFORONE);
  close(a);
  close(b);
}

void udp_refused() {
  // ECONNREFUSED: connected UDP to a port nobody listens on; the ICMP port
  // unreachable turns into an error on the next receive.
  int gone = udp_bound(AF_INET);
  int port = local_of(gone).port;
  close(gone);
  int u = udp_bound(AF_INET);
  udp_connect(u, AF_INET, port);
  do_send("UDP", u, 10, 0);
  wait_readable(u, POLLERR);
  Op refused = do_recv("UDP", u, 64, MSG_DONTWAIT);
  if (refused.err != ECONNREFUSED) die("expected ECONNREFUSED");
  close(u);
}

void udp_unconnected() {
  // sendto with an address on an unconnected socket: the destination comes
  // from the call, not the socket.
  int tx = udp_bound(AF_INET);
  int rx = udp_bound(AF_INET);
  Endpoint to = local_of(rx);
  sockaddr_storage addr = loopback(AF_INET, to.port);
  char buf[64] = {};
  long s = sendto(tx, buf, 64, 0, reinterpret_cast<sockaddr*>(&addr), len_of(AF_INET));
  record("UDP", {local_of(tx), to}, s, s < 0 ? errno : 0, "send", true, 0);
  Endpoint from = local_of(tx);
  sockaddr_storage src{};
  socklen_t srclen = sizeof(src);
  long r = recvfrom(rx, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&src), &srclen);
  record("UDP", {to, from}, r, r < 0 ? errno : 0, "receive", true, 0);
  // recvmmsg on the unconnected socket: each message names its own sender,
  // written by the kernel after that message (two senders, so a mix-up
  // between the messages of one call shows).
  int tx2 = udp_bound(AF_INET);
  for (int sender : {tx, tx2}) {
    const long size = sender == tx ? 10 : 20;
    s = sendto(sender, buf, size, 0, reinterpret_cast<sockaddr*>(&addr), len_of(AF_INET));
    record("UDP", {local_of(sender), to}, s, s < 0 ? errno : 0, "send", true, 0);
  }
  char r1[64], r2[64];
  iovec rv[2] = {{r1, sizeof(r1)}, {r2, sizeof(r2)}};
  sockaddr_storage names[2] = {};
  mmsghdr rm[2] = {};
  for (int i = 0; i < 2; ++i) {
    rm[i].msg_hdr.msg_iov = &rv[i];
    rm[i].msg_hdr.msg_iovlen = 1;
    rm[i].msg_hdr.msg_name = &names[i];
    rm[i].msg_hdr.msg_namelen = sizeof(names[i]);
  }
  if (recvmmsg(rx, rm, 2, 0, nullptr) != 2) die("recvmmsg (unconnected)");
  record("UDP", {to, local_of(tx)}, rm[0].msg_len, 0, "receive", true, 0);
  record("UDP", {to, local_of(tx2)}, rm[1].msg_len, 0, "receive", true, 0);
  close(tx2);
  close(tx);
  close(rx);
}

int udp_sink_pair(int* rx) {
  int tx = udp_bound(AF_INET);
  *rx = udp_bound(AF_INET);
  udp_connect(tx, AF_INET, local_of(*rx).port);
  return tx;
}

}  // namespace

int main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  const std::string mode = argc > 1 ? argv[1] : "script";
  std::printf("pid\t%d\n", getpid());
  if (mode == "script") {
    tcp_scenario(AF_INET, false);
    tcp_scenario(AF_INET6, false);
    tcp_scenario(AF_INET, true);  // IPv6 socket, IPv4-mapped peer: reported as IPv4
    tcp_errors();
    udp_scenario(AF_INET);
    udp_scenario(AF_INET6);
    udp_refused();
    udp_unconnected();
    return 0;
  }
  if (mode == "burst" && argc > 2) {
    // N sends of 1 byte, not recorded line by line; the receiver never reads
    // (no receive events), the kernel drops what overflows its buffer.
    long n = std::strtol(argv[2], nullptr, 10);
    int rx = -1;
    int tx = udp_sink_pair(&rx);
    // sendmmsg batches: many events per syscall, faster than any reader.
    char byte = 'b';
    constexpr int kBatch = 256;
    std::vector<iovec> iov(kBatch, iovec{&byte, 1});
    std::vector<mmsghdr> msgs(kBatch);
    for (int i = 0; i < kBatch; ++i) {
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    long ok = 0;
    while (ok < n) {
      int sent =
          sendmmsg(tx, msgs.data(), static_cast<unsigned>(std::min<long>(kBatch, n - ok)), 0);
      if (sent <= 0) die("sendmmsg");
      ok += sent;
    }
    std::printf("burst\t%ld\t%ld\n", n, ok);
    close(tx);
    close(rx);
    return 0;
  }
  if (mode == "fold") {
    int rx = -1;
    int tx = udp_sink_pair(&rx);
    for (int i = 2; i < argc; ++i) {
      prctl(PR_SET_NAME, argv[i], 0, 0, 0);
      char byte = 'f';
      long s = send(tx, &byte, 1, 0);
      std::printf("fold\t%s\t%ld\n", argv[i], s);
    }
    close(tx);
    close(rx);
    return 0;
  }
  std::fprintf(stderr, "usage: netobs_socket_script [script | burst N | fold NAME...]\n");
  return 2;
}
