#include "net.h"

#include <sandlot/util.h>

#include <net/if.h>
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
