// The floor of an snmp-only scrape: an HTTP/1.1 server that does only what
// any exporter of these counters must do per scrape, and nothing else. It
// reads /proc/net/snmp, /proc/net/netstat and /proc/net/snmp6 (the files
// netobs's snmp collector and node_exporter's netstat collector read),
// gzips a fixed body (libdeflate level 1, reused state: the compressor and
// setting netobs uses) and writes it on a keep-alive connection. No parsing, no
// formatting, no allocation per scrape. scrape_cost.py serves netobs's own
// snmp-only body with it, so the gzip work is the same size and content.
//
//   scrape_floor PORT BODY_FILE [PROCFS=/proc]
//
// One connection at a time, one thread: the cheapest server there is.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <libdeflate.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

std::string read_whole(const char* path) {
  std::string text;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return text;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) text.append(buf, static_cast<size_t>(n));
  close(fd);
  return text;
}

// Reads the whole file into buf (reopened each scrape: procfs renders it on open/read).
size_t read_proc(const std::string& path, std::vector<char>& buf) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  size_t total = 0;
  ssize_t n;
  while ((n = read(fd, buf.data() + total, buf.size() - total)) > 0) {
    total += static_cast<size_t>(n);
    if (total == buf.size()) break;
  }
  close(fd);
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: scrape_floor PORT BODY_FILE [PROCFS=/proc]\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const std::string body = read_whole(argv[2]);
  const std::string procfs = argc > 3 ? argv[3] : "/proc";
  if (body.empty()) {
    std::fprintf(stderr, "scrape_floor: %s is empty or unreadable\n", argv[2]);
    return 2;
  }
  const std::string files[] = {procfs + "/net/snmp", procfs + "/net/netstat",
                               procfs + "/net/snmp6"};
  std::vector<char> proc_buf(1 << 16);

  libdeflate_compressor* compressor = libdeflate_alloc_compressor(1);
  if (compressor == nullptr) return 1;
  std::vector<unsigned char> gz(libdeflate_gzip_compress_bound(compressor, body.size()));

  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(listener, 16) != 0) {
    std::perror("scrape_floor: listen");
    return 1;
  }
  char request[8192];
  char head[256];
  for (;;) {
    int conn = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) continue;
    setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    size_t have = 0;
    for (;;) {
      ssize_t n = recv(conn, request + have, sizeof(request) - have, 0);
      if (n <= 0) break;
      have += static_cast<size_t>(n);
      char* end = static_cast<char*>(memmem(request, have, "\r\n\r\n", 4));
      if (end == nullptr) {
        if (have == sizeof(request)) break;
        continue;
      }
      const size_t used = static_cast<size_t>(end + 4 - request);
      for (const std::string& file : files) read_proc(file, proc_buf);
      const size_t gz_size =
          libdeflate_gzip_compress(compressor, body.data(), body.size(), gz.data(), gz.size());
      if (gz_size == 0) break;
      const int head_size =
          std::snprintf(head, sizeof(head),
                        "HTTP/1.1 200 OK\r\n"
                        "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                        "Content-Encoding: gzip\r\n"
                        "Content-Length: %zu\r\n\r\n",
                        gz_size);
      // Head and body in one system call, as the cheapest server would.
      iovec parts[2] = {{head, static_cast<size_t>(head_size)}, {gz.data(), gz_size}};
      msghdr message{};
      message.msg_iov = parts;
      message.msg_iovlen = 2;
      if (sendmsg(conn, &message, MSG_NOSIGNAL) != static_cast<ssize_t>(head_size + gz_size)) {
        break;
      }
      std::memmove(request, request + used, have - used);
      have -= used;
    }
    close(conn);
  }
}
