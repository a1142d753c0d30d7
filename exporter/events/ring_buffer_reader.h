// RingBufferReader: drains one BPF ring buffer on its own thread and hands
// each record to a callback. Owned by a collector: start() on the main
// thread, the callback runs on the reader thread (after a wakeup, or at the
// latest after poll_timeout_ms for producers that submit without one), stop() (main thread)
// joins it after a last drain, so records already in the buffer are
// delivered before stop() returns.
#pragma once

#include <bpf/libbpf.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "exporter/status.h"

namespace netobs {

class RingBufferReader {
 public:
  // Called once per record with its bytes; runs on the reader thread.
  using Handler = std::function<void(const void* data, size_t size)>;
  // Called on the reader thread after each poll round (e.g. to flush a sink).
  using Idle = std::function<void()>;

  RingBufferReader() = default;
  ~RingBufferReader();
  RingBufferReader(const RingBufferReader&) = delete;
  RingBufferReader& operator=(const RingBufferReader&) = delete;

  // Opens the ring buffer map `map_fd` and starts the thread. `name` is for
  // log lines and errors; poll_timeout_ms bounds how long stop() waits.
  Status start(int map_fd, std::string name, Handler handler, Idle idle = nullptr,
               int poll_timeout_ms = 100);
  // Delivers what is left in the buffer, then stops the thread. Idempotent.
  void stop();
  // Delivers what is in the buffer now, on the calling thread (only while
  // the reader thread is not running: tests and stop()).
  void drain();

 private:
  static int on_record(void* context, void* data, size_t size);
  void loop();

  std::string name_;
  Handler handler_;
  Idle idle_;
  int poll_timeout_ms_ = 100;
  ring_buffer* ring_ = nullptr;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace netobs
