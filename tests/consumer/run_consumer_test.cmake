# ctest driver: install the build tree into a fresh prefix, then configure, build and run the
# consumer project against it with find_package(relulab).
# Inputs (-D): RELULAB_BUILD_DIR, CONSUMER_SOURCE_DIR, WORK_DIR, GENERATOR, CXX_COMPILER,
# CXX_FLAGS, LINKER_FLAGS.
file(REMOVE_RECURSE "${WORK_DIR}")

function(run_step description)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "${description} failed (${result})")
  endif()
endfunction()

run_step("cmake --install" "${CMAKE_COMMAND}" --install "${RELULAB_BUILD_DIR}"
         --prefix "${WORK_DIR}/prefix")
run_step("configuring the consumer" "${CMAKE_COMMAND}" -S "${CONSUMER_SOURCE_DIR}"
         -B "${WORK_DIR}/build" -G "${GENERATOR}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
         "-DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix" "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}"
         "-DCMAKE_EXE_LINKER_FLAGS=${LINKER_FLAGS}")
run_step("building the consumer" "${CMAKE_COMMAND}" --build "${WORK_DIR}/build")
run_step("running the consumer" "${WORK_DIR}/build/relulab_consumer")
