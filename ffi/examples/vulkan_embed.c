/* A Vulkan application that hands its own images to GhostStream: the engine is made from the
 * application's VkInstance/VkDevice/VkQueue, each frame is drawn (cleared to a colour that
 * changes every frame) into the application's VkImage, and GhostStream reads it in place after
 * a timeline semaphore, signalling another when it is done, so that the image can be drawn
 * again. No copy leaves the GPU until the encoder's input.
 *
 *   cc vulkan_embed.c $(pkg-config --cflags --libs ghoststream vulkan) -o vulkan_embed
 *   ./vulkan_embed out.mkv [--validate]
 *
 * --validate turns on the Khronos validation layer: any message it reports (about this
 * program or GhostStream's work on the device) makes the program exit 1. */
#include <ghoststream.h>
#include <vulkan/vulkan.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { WIDTH = 320, HEIGHT = 180, FRAMES = 60, FPS = 30 };

#define VK_CHECK(call)                                                                      \
    do {                                                                                    \
        VkResult vk_result_ = (call);                                                       \
        if (vk_result_ != VK_SUCCESS) {                                                     \
            fprintf(stderr, "vulkan_embed: %s failed: VkResult %d\n", #call, vk_result_);   \
            exit(1);                                                                        \
        }                                                                                   \
    } while (0)
#define GS_CHECK(call, detail)                                                              \
    do {                                                                                    \
        int32_t gs_result_ = (call);                                                        \
        if (gs_result_ != GS_OK) {                                                          \
            fprintf(stderr, "vulkan_embed: %s: %s: %s\n", #call, gs_result_str(gs_result_), \
                    (detail));                                                              \
            exit(1);                                                                        \
        }                                                                                   \
    } while (0)

static int validation_messages = 0;

static VKAPI_ATTR VkBool32 VKAPI_CALL on_validation(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                    VkDebugUtilsMessageTypeFlagsEXT types,
                                                    const VkDebugUtilsMessengerCallbackDataEXT *data,
                                                    void *user) {
    (void)types;
    (void)user;
    if (severity >= VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT) {
        fprintf(stderr, "vulkan_embed: validation: %s\n", data->pMessage);
        validation_messages++;
    }
    return VK_FALSE;
}

/* Frame n's colour, in 8-bit units (the test that runs this checks the decoded frames). */
static void colour_of(int n, float rgba[4]) {
    rgba[0] = (float)(40 + 3 * n) / 255.0f;
    rgba[1] = (float)(200 - 2 * n) / 255.0f;
    rgba[2] = (float)(90 + n) / 255.0f;
    rgba[3] = 1.0f;
}

/* The application's Vulkan objects. */
typedef struct App {
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    VkPhysicalDevice physical;
    uint32_t family;
    VkDevice device;
    VkQueue queue;
    VkImage image;
    VkDeviceMemory memory;
    VkCommandPool pool;
    VkCommandBuffer cmd;
    VkSemaphore drawn;    /* the application signals n + 1 when frame n is drawn */
    VkSemaphore released; /* GhostStream signals n + 1 when it has read frame n */
} App;

static void create_device(App *app, int validate) {
    const char *layers[] = {"VK_LAYER_KHRONOS_validation"};
    const char *instance_extensions[] = {VK_EXT_DEBUG_UTILS_EXTENSION_NAME};
    VkApplicationInfo info = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                              .pApplicationName = "vulkan_embed",
                              .apiVersion = VK_API_VERSION_1_3};
    VkDebugUtilsMessengerCreateInfoEXT messenger = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = on_validation};
    VkInstanceCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                                .pNext = validate ? &messenger : NULL,
                                .pApplicationInfo = &info,
                                .enabledLayerCount = validate ? 1 : 0,
                                .ppEnabledLayerNames = layers,
                                .enabledExtensionCount = validate ? 1 : 0,
                                .ppEnabledExtensionNames = instance_extensions};
    VK_CHECK(vkCreateInstance(&ici, NULL, &app->instance));
    if (validate) {
        PFN_vkCreateDebugUtilsMessengerEXT create = (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
            app->instance, "vkCreateDebugUtilsMessengerEXT");
        VK_CHECK(create(app->instance, &messenger, NULL, &app->messenger));
    }

    /* The first Vulkan 1.3 device with a compute queue. */
    uint32_t count = 8;
    VkPhysicalDevice devices[8];
    VkResult r = vkEnumeratePhysicalDevices(app->instance, &count, devices);
    if (r != VK_SUCCESS && r != VK_INCOMPLETE) VK_CHECK(r);
    app->physical = VK_NULL_HANDLE;
    for (uint32_t d = 0; d < count && app->physical == VK_NULL_HANDLE; d++) {
        VkPhysicalDeviceProperties props;
        vkGetPhysicalDeviceProperties(devices[d], &props);
        if (props.apiVersion < VK_API_VERSION_1_3) continue;
        uint32_t families = 16;
        VkQueueFamilyProperties family[16];
        vkGetPhysicalDeviceQueueFamilyProperties(devices[d], &families, family);
        for (uint32_t f = 0; f < families; f++)
            if (family[f].queueFlags & VK_QUEUE_COMPUTE_BIT) {
                app->physical = devices[d];
                app->family = f;
                fprintf(stderr, "vulkan_embed: device %s, queue family %u\n", props.deviceName, f);
                break;
            }
    }
    if (app->physical == VK_NULL_HANDLE) {
        fprintf(stderr, "vulkan_embed: no Vulkan 1.3 device with a compute queue\n");
        exit(1);
    }

    /* GhostStream needs timeline semaphores (Vulkan 1.2 core); no extension. */
    VkPhysicalDeviceVulkan12Features features12 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES, .timelineSemaphore = VK_TRUE};
    float priority = 1.0f;
    VkDeviceQueueCreateInfo queue = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                     .queueFamilyIndex = app->family,
                                     .queueCount = 1,
                                     .pQueuePriorities = &priority};
    VkDeviceCreateInfo dci = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                              .pNext = &features12,
                              .queueCreateInfoCount = 1,
                              .pQueueCreateInfos = &queue};
    VK_CHECK(vkCreateDevice(app->physical, &dci, NULL, &app->device));
    vkGetDeviceQueue(app->device, app->family, 0, &app->queue);
}

static VkSemaphore timeline(VkDevice device) {
    VkSemaphoreTypeCreateInfo type = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO,
                                      .semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE};
    VkSemaphoreCreateInfo sci = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO, .pNext = &type};
    VkSemaphore s;
    VK_CHECK(vkCreateSemaphore(device, &sci, NULL, &s));
    return s;
}

static void create_resources(App *app) {
    VkImageCreateInfo ici = {.sType = VK_STRUCTURE_TYPE_IMAGE_CREATE_INFO,
                             .imageType = VK_IMAGE_TYPE_2D,
                             .format = VK_FORMAT_R8G8B8A8_UNORM,
                             .extent = {WIDTH, HEIGHT, 1},
                             .mipLevels = 1,
                             .arrayLayers = 1,
                             .samples = VK_SAMPLE_COUNT_1_BIT,
                             .tiling = VK_IMAGE_TILING_OPTIMAL,
                             .usage = VK_IMAGE_USAGE_SAMPLED_BIT | VK_IMAGE_USAGE_TRANSFER_DST_BIT,
                             .sharingMode = VK_SHARING_MODE_EXCLUSIVE,
                             .initialLayout = VK_IMAGE_LAYOUT_UNDEFINED};
    VK_CHECK(vkCreateImage(app->device, &ici, NULL, &app->image));
    VkMemoryRequirements req;
    vkGetImageMemoryRequirements(app->device, app->image, &req);
    VkPhysicalDeviceMemoryProperties mem;
    vkGetPhysicalDeviceMemoryProperties(app->physical, &mem);
    uint32_t type = UINT32_MAX;
    for (uint32_t t = 0; t < mem.memoryTypeCount && type == UINT32_MAX; t++)
        if ((req.memoryTypeBits & (1u << t)) &&
            (mem.memoryTypes[t].propertyFlags & VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT))
            type = t;
    if (type == UINT32_MAX) {
        fprintf(stderr, "vulkan_embed: no device-local memory for the image\n");
        exit(1);
    }
    VkMemoryAllocateInfo mai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                                .allocationSize = req.size,
                                .memoryTypeIndex = type};
    VK_CHECK(vkAllocateMemory(app->device, &mai, NULL, &app->memory));
    VK_CHECK(vkBindImageMemory(app->device, app->image, app->memory, 0));
    VkCommandPoolCreateInfo pci = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                   .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                   .queueFamilyIndex = app->family};
    VK_CHECK(vkCreateCommandPool(app->device, &pci, NULL, &app->pool));
    VkCommandBufferAllocateInfo cai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                       .commandPool = app->pool,
                                       .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                       .commandBufferCount = 1};
    VK_CHECK(vkAllocateCommandBuffers(app->device, &cai, &app->cmd));
    app->drawn = timeline(app->device);
    app->released = timeline(app->device);
}

static void barrier(VkCommandBuffer cmd, VkImage image, VkImageLayout from, VkImageLayout to,
                    VkAccessFlags src_access, VkAccessFlags dst_access, VkPipelineStageFlags src,
                    VkPipelineStageFlags dst) {
    VkImageMemoryBarrier b = {.sType = VK_STRUCTURE_TYPE_IMAGE_MEMORY_BARRIER,
                              .srcAccessMask = src_access,
                              .dstAccessMask = dst_access,
                              .oldLayout = from,
                              .newLayout = to,
                              .srcQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
                              .dstQueueFamilyIndex = VK_QUEUE_FAMILY_IGNORED,
                              .image = image,
                              .subresourceRange = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1}};
    vkCmdPipelineBarrier(cmd, src, dst, 0, 0, NULL, 0, NULL, 1, &b);
}

/* Draws frame n (clears the image to its colour, leaves it in GENERAL) and signals
 * `drawn` = n + 1. The queue is shared with GhostStream, so the submit holds its lock. */
static void draw(App *app, GsEngine *engine, int n) {
    VK_CHECK(vkResetCommandBuffer(app->cmd, 0));
    VkCommandBufferBeginInfo begin = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                      .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    VK_CHECK(vkBeginCommandBuffer(app->cmd, &begin));
    barrier(app->cmd, app->image, n == 0 ? VK_IMAGE_LAYOUT_UNDEFINED : VK_IMAGE_LAYOUT_GENERAL,
            VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, 0, VK_ACCESS_TRANSFER_WRITE_BIT,
            VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT);
    VkClearColorValue colour;
    colour_of(n, colour.float32);
    VkImageSubresourceRange range = {VK_IMAGE_ASPECT_COLOR_BIT, 0, 1, 0, 1};
    vkCmdClearColorImage(app->cmd, app->image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, &colour, 1, &range);
    barrier(app->cmd, app->image, VK_IMAGE_LAYOUT_TRANSFER_DST_OPTIMAL, VK_IMAGE_LAYOUT_GENERAL,
            VK_ACCESS_TRANSFER_WRITE_BIT, 0, VK_PIPELINE_STAGE_TRANSFER_BIT,
            VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT);
    VK_CHECK(vkEndCommandBuffer(app->cmd));
    uint64_t signal = (uint64_t)n + 1;
    VkTimelineSemaphoreSubmitInfo values = {.sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO,
                                            .signalSemaphoreValueCount = 1,
                                            .pSignalSemaphoreValues = &signal};
    VkSubmitInfo submit = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                           .pNext = &values,
                           .commandBufferCount = 1,
                           .pCommandBuffers = &app->cmd,
                           .signalSemaphoreCount = 1,
                           .pSignalSemaphores = &app->drawn};
    GS_CHECK(gs_engine_queue_lock(engine), gs_engine_last_error(engine));
    VkResult r = vkQueueSubmit(app->queue, 1, &submit, VK_NULL_HANDLE);
    GS_CHECK(gs_engine_queue_unlock(engine), gs_engine_last_error(engine));
    VK_CHECK(r);
}

/* Waits until `semaphore` reaches `value` (at most five seconds). */
static void wait_for(VkDevice device, VkSemaphore semaphore, uint64_t value) {
    VkSemaphoreWaitInfo wait = {.sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO,
                                .semaphoreCount = 1,
                                .pSemaphores = &semaphore,
                                .pValues = &value};
    VK_CHECK(vkWaitSemaphores(device, &wait, 5000000000ull));
}

static int write_ready(GsSession *session, GsWriter *writer) {
    int written = 0;
    for (;;) {
        GsPacket *packet = NULL;
        int32_t r = gs_session_receive(session, &packet);
        if (r == GS_AGAIN || r == GS_EOF) return written;
        GS_CHECK(r, gs_session_last_error(session));
        r = gs_writer_write(writer, packet);
        gs_packet_release(packet);
        GS_CHECK(r, gs_writer_last_error(writer));
        written++;
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s OUT.(mkv|mp4|h264) [--validate]\n", argv[0]);
        return 2;
    }
    int validate = argc > 2 && strcmp(argv[2], "--validate") == 0;
    App app = {0};
    create_device(&app, validate);
    create_resources(&app);

    GsVulkanHost host = {.size = sizeof host,
                         .queue_family = app.family,
                         .get_instance_proc_addr = (GsVoidFunction)vkGetInstanceProcAddr,
                         .instance = app.instance,
                         .physical_device = app.physical,
                         .device = app.device,
                         .queue_index = 0};
    GsEngine *engine = NULL;
    GS_CHECK(gs_engine_create_vulkan(&host, &engine), gs_last_error());
    GsSessionOptions options;
    gs_session_options_defaults(&options);
    options.width = WIDTH;
    options.height = HEIGHT;
    options.fps_num = FPS;
    options.input_format = GS_FORMAT_RGBA8;
    options.rate_control = GS_RC_CQP;
    options.qp = 18;
    options.engine = engine;
    GsSession *session = NULL;
    GS_CHECK(gs_session_create(&options, &session), gs_last_error());
    GsWriter *writer = NULL;
    GS_CHECK(gs_writer_create(session, argv[1], GS_OUTPUT_AUTO, &writer), gs_last_error());

    int packets = 0;
    for (int n = 0; n < FRAMES; n++) {
        if (n > 0) {
            /* GhostStream has read the previous frame, and the previous draw is complete. */
            wait_for(app.device, app.released, (uint64_t)n);
            wait_for(app.device, app.drawn, (uint64_t)n);
        }
        draw(&app, engine, n);
        GsVulkanFrame frame = {.size = sizeof frame,
                               .format = GS_FORMAT_RGBA8,
                               .width = WIDTH,
                               .height = HEIGHT,
                               .image = (uint64_t)(uintptr_t)app.image,
                               .wait_semaphore = (uint64_t)(uintptr_t)app.drawn,
                               .wait_value = (uint64_t)n + 1,
                               .release_semaphore = (uint64_t)(uintptr_t)app.released,
                               .release_value = (uint64_t)n + 1,
                               .pts_ns = (int64_t)n * 1000000000 / FPS,
                               .layout = VK_IMAGE_LAYOUT_GENERAL};
        GS_CHECK(gs_session_submit_vulkan(session, &frame), gs_session_last_error(session));
        packets += write_ready(session, writer);
    }
    GS_CHECK(gs_session_flush(session), gs_session_last_error(session));
    packets += write_ready(session, writer);
    GS_CHECK(gs_writer_finish(writer), gs_writer_last_error(writer));
    gs_writer_destroy(writer);
    gs_session_destroy(session);
    gs_engine_destroy(engine);

    VK_CHECK(vkDeviceWaitIdle(app.device));
    vkDestroySemaphore(app.device, app.drawn, NULL);
    vkDestroySemaphore(app.device, app.released, NULL);
    vkDestroyCommandPool(app.device, app.pool, NULL);
    vkDestroyImage(app.device, app.image, NULL);
    vkFreeMemory(app.device, app.memory, NULL);
    vkDestroyDevice(app.device, NULL);
    if (app.messenger) {
        PFN_vkDestroyDebugUtilsMessengerEXT destroy = (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
            app.instance, "vkDestroyDebugUtilsMessengerEXT");
        destroy(app.instance, app.messenger, NULL);
    }
    vkDestroyInstance(app.instance, NULL);
    printf("vulkan_embed: %d packets from the application's images; %d validation messages\n", packets,
           validation_messages);
    return validation_messages > 0 ? 1 : 0;
}
