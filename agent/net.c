#include "net.h"

#include "thread.h"

#include <sandlot/util.h>

#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

int sl_net_lo_up(void)
{
	struct ifreq ifr = {.ifr_flags = IFF_UP | IFF_LOOPBACK | IFF_RUNNING};
	_cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return sl_negerrno();
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return sl_negerrno();
	return 0;
}

int sl_net_new_ns(void)
{
	int fd, r;

	if (unshare(CLONE_NEWNET) < 0)
		return sl_negerrno();
	fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sl_negerrno();
	r = sl_net_lo_up();
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

static void *maker(void *data)
{
	struct sl_net_maker *m = data;

	m->result = sl_net_new_ns();
	return NULL;
}

int sl_net_maker_start(struct sl_net_maker *m)
{
	m->result = -1;
	m->started = false;
	int r = sl_thread_start(&m->thread, maker, m);

	if (r < 0)
		return r;
	m->started = true;
	return 0;
}

int sl_net_maker_finish(struct sl_net_maker *m)
{
	if (!m->started)
		return -ECHILD;
	pthread_join(m->thread, NULL);
	m->started = false;
	return m->result;
}
