// A tiny HTTP/1.1 server for tests, on 127.0.0.1 at a port the OS picks, answering from a
// handler in the test. Written on plain sockets so a test controls every byte: the status
// line, headers, a body cut off mid-way (a dropped connection), or no answer at all (a hung
// server). One connection per request (Connection: close); each runs on its own thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace tessera::test {

struct FixtureRequest {
  std::string method;
  std::string target;                          // as sent: path and query
  std::map<std::string, std::string> headers;  // names lower-cased

  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct FixtureResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  size_t drop_after = std::string::npos;  // close after this many body bytes
  bool hang = false;                      // send nothing; hold the connection until shutdown
};

using FixtureHandler = std::function<FixtureResponse(const FixtureRequest&)>;

class HttpFixture {
 public:
  explicit HttpFixture(FixtureHandler handler) : handler_(std::move(handler)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) std::abort();
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 64) != 0) {
      std::abort();
    }
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  ~HttpFixture() {
    stop_ = true;
    acceptor_.join();
    std::vector<std::thread> workers;
    {
      std::lock_guard<std::mutex> g(mu_);
      workers.swap(workers_);
    }
    for (auto& t : workers) t.join();
    ::close(listen_fd_);
  }

  HttpFixture(const HttpFixture&) = delete;
  HttpFixture& operator=(const HttpFixture&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Every request received so far, in arrival order.
  std::vector<FixtureRequest> requests() const {
    std::lock_guard<std::mutex> g(mu_);
    return requests_;
  }

  static const char* reason(int status) {
    switch (status) {
      case 200:
        return "OK";
      case 206:
        return "Partial Content";
      case 301:
        return "Moved Permanently";
      case 302:
        return "Found";
      case 307:
        return "Temporary Redirect";
      case 401:
        return "Unauthorized";
      case 403:
        return "Forbidden";
      case 404:
        return "Not Found";
      case 416:
        return "Range Not Satisfiable";
      case 500:
        return "Internal Server Error";
      default:
        return "Status";
    }
  }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::lock_guard<std::mutex> g(mu_);
      workers_.emplace_back([this, fd] { serve(fd); });
    }
  }

  // Reads until the end of the request's headers; false on EOF, error or shutdown.
  bool read_head(int fd, std::string& head) {
    char buf[4096];
    while (head.find("\r\n\r\n") == std::string::npos) {
      if (stop_ || head.size() > 65536) return false;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return false;
      head.append(buf, static_cast<size_t>(n));
    }
    return true;
  }

  static FixtureRequest parse(const std::string& head) {
    FixtureRequest r;
    size_t eol = head.find("\r\n");
    const std::string line = head.substr(0, eol);
    const size_t sp1 = line.find(' ');
    const size_t sp2 = line.find(' ', sp1 + 1);
    r.method = line.substr(0, sp1);
    r.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t at = eol + 2;
    while (at < head.size()) {
      eol = head.find("\r\n", at);
      if (eol == std::string::npos || eol == at) break;
      const std::string h = head.substr(at, eol - at);
      const size_t colon = h.find(':');
      if (colon != std::string::npos) {
        std::string name = h.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        size_t v = colon + 1;
        while (v < h.size() && h[v] == ' ') ++v;
        r.headers[name] = h.substr(v);
      }
      at = eol + 2;
    }
    return r;
  }

  static void send_all(int fd, const char* data, size_t n) {
    while (n > 0) {
      const ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
      if (w <= 0) return;
      data += w;
      n -= static_cast<size_t>(w);
    }
  }

  void serve(int fd) {
    std::string head;
    if (read_head(fd, head)) {
      const FixtureRequest req = parse(head);
      {
        std::lock_guard<std::mutex> g(mu_);
        requests_.push_back(req);
      }
      const FixtureResponse res = handler_(req);
      if (res.hang) {
        while (!stop_) ::usleep(10000);
      } else {
        std::string out =
            "HTTP/1.1 " + std::to_string(res.status) + " " + reason(res.status) +
            "\r\nConnection: close\r\nContent-Length: " + std::to_string(res.body.size()) + "\r\n";
        for (const auto& [k, v] : res.headers) out += k + ": " + v + "\r\n";
        out += "\r\n";
        send_all(fd, out.data(), out.size());
        const size_t n = std::min(res.drop_after, res.body.size());
        send_all(fd, res.body.data(), n);
      }
    }
    ::shutdown(fd, SHUT_RDWR);
    ::close(fd);
  }

  FixtureHandler handler_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<std::thread> workers_;
  std::vector<FixtureRequest> requests_;
};

// A port on 127.0.0.1 where nothing listens (bound, then closed): connecting is refused.
inline int closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace tessera::test
