// SPDX-License-Identifier: Apache-2.0
/* The built-in init program (see init-exe.h). */
#include "sandbox/init-exe.h"

#include <sandlot/util.h>

#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U /* Linux 6.3: executable even when vm.memfd_noexec asks otherwise */
#endif

/* The program's bytes, put here by the build (SL_INIT_ELF_PATH: the linked sandlot-init). */
__asm__(".pushsection .rodata\n"
	".balign 64\n"
	".globl sl_init_elf\n"
	".hidden sl_init_elf\n"
	"sl_init_elf:\n"
	".incbin \"" SL_INIT_ELF_PATH "\"\n"
	".globl sl_init_elf_end\n"
	".hidden sl_init_elf_end\n"
	"sl_init_elf_end:\n"
	".popsection\n");
extern const char sl_init_elf[], sl_init_elf_end[];

static int memfd_new(void)
{
	int fd = memfd_create("sandlot-init", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);

	if (fd < 0 && errno == EINVAL) /* before 6.3 */
		fd = memfd_create("sandlot-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	return fd < 0 ? sl_negerrno() : fd;
}

int sl_init_exe_open(void)
{
	_cleanup_close_ int fd = memfd_new();
	size_t len = (size_t)(sl_init_elf_end - sl_init_elf);
	char path[64];
	int ro;

	if (fd < 0)
		return fd;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, sl_init_elf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? sl_negerrno() : -EIO;
		off += (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		return sl_negerrno();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	return ro < 0 ? sl_negerrno() : ro;
}
