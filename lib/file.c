// SPDX-License-Identifier: Apache-2.0
#include <sandlot/util.h>

#include <fcntl.h>
#include <string.h>

int sl_read_file(const char *path, char *buf, size_t max)
{
	return sl_read_fileat(AT_FDCWD, path, buf, max);
}

int sl_read_fd(int fd, void *buf, size_t max, size_t *ret_len)
{
	size_t len = 0;

	for (;;) {
		ssize_t n = read(fd, (char *)buf + len, max - len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return sl_negerrno();
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == max)
			return -EFBIG;
	}
	*ret_len = len;
	return 0;
}

int sl_read_fileat(int dirfd, const char *name, char *buf, size_t max)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	size_t len = 0;
	int r;

	if (fd < 0)
		return sl_negerrno();
	if (max == 0)
		return -EINVAL;
	r = sl_read_fd(fd, buf, max, &len);
	if (r < 0)
		return r;
	while (len > 0 && buf[len - 1] == '\n')
		len--;
	buf[len] = '\0';
	return (int)len;
}

int sl_write_fileat(int dirfd, const char *name, const char *s)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(s);
	ssize_t n;

	if (fd < 0)
		return sl_negerrno();
	n = write(fd, s, len);
	if (n < 0)
		return sl_negerrno();
	return (size_t)n == len ? 0 : -EIO;
}

int sl_write_file(const char *path, const char *s)
{
	return sl_write_fileat(AT_FDCWD, path, s);
}
