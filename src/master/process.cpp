// master/process.cpp: fork_child() and the one disposition every forkd
// process keeps: SIGPIPE ignored (process.hpp).
//
// The signal-mask and sigaction calls here cannot fail with the arguments
// they are given (valid sets, signals other than KILL and STOP), and in the
// child there is no one yet to tell; only fork() itself reports an error.
#include "master/process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <unistd.h>

#include <sys/wait.h>

namespace forkd::master {

void ignore_sigpipe()
{
    struct sigaction ign;
    std::memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, nullptr);
}

pid_t fork_child(void (*prepare)(void*), void* prepare_arg, int (*child)(void*), void* child_arg)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t pid = fork();
    if (pid == 0) {
        prepare(prepare_arg);
        struct sigaction dfl;
        std::memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        for (int s = 1; s < NSIG; ++s) {
            if (s != SIGKILL && s != SIGSTOP)
                sigaction(s, &dfl, nullptr);
        }
        ignore_sigpipe();
        sigset_t none;
        sigemptyset(&none);
        pthread_sigmask(SIG_SETMASK, &none, nullptr);
        _exit(child(child_arg));
    }
    int err = errno;
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return pid < 0 ? -err : pid;
}

}  // namespace forkd::master
