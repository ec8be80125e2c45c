/* SPDX-License-Identifier: Apache-2.0 */
#include "agent-methods.h"

#include <string.h>

#include "agent.pb-c.h"
#include "macro.h"

#define M(name, req, resp)                                                                                   \
        {                                                                                                    \
                name, &hako__agent__v1__##req##__descriptor, &hako__agent__v1__##resp##__descriptor          \
        }

/* The methods of agent/server.c's table, with what each answers. */
const struct agent_method agent_methods[] = {
    M("Health", health_request, health_response),
    M("CreateSandbox", create_sandbox_request, empty),
    M("DestroySandbox", destroy_sandbox_request, empty),
    M("CreateContainer", create_container_request, create_container_response),
    M("StartContainer", start_container_request, empty),
    M("RemoveContainer", remove_container_request, empty),
    M("ExecProcess", exec_process_request, exec_process_response),
    M("RemoveProcess", remove_process_request, empty),
    M("SignalProcess", signal_process_request, empty),
    M("WaitProcess", wait_process_request, wait_process_response),
    M("WriteStdin", write_stream_request, write_stream_response),
    M("CloseStdin", close_stdin_request, empty),
    M("ReadStdout", read_stream_request, read_stream_response),
    M("ReadStderr", read_stream_request, read_stream_response),
    M("TtyWinResize", tty_win_resize_request, empty),
    M("StatsContainer", stats_container_request, stats_container_response),
    M("UpdateContainer", update_container_request, empty),
    M("ListProcesses", list_processes_request, list_processes_response),
    M("PauseContainer", pause_container_request, empty),
    M("GetOOMEvent", get_oomevent_request, get_oomevent_response),
    M("OnlineResources", online_resources_request, online_resources_response),
};

const size_t agent_methods_count = ELEMENTSOF(agent_methods);

const struct agent_method *agent_method_find(const char *name)
{
        if (!name)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(agent_methods); i++)
                if (strcmp(agent_methods[i].name, name) == 0)
                        return &agent_methods[i];
        return NULL;
}
