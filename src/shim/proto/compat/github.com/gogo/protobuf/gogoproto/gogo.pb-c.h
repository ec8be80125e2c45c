/* containerd's runtimeoptions proto imports gogo.proto by its full path, the others by
 * gogoproto/gogo.proto: one generated copy serves both names. */
#pragma once
#include "gogoproto/gogo.pb-c.h"
