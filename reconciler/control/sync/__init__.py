"""Operations: a sync, or an app delete, as a small state machine in Redis that each finishing
task advances. Modules by job (nothing is imported here, so any of them can be imported alone):

    operation.py    the typed operation, its step kinds, hook records, results (frozen models)
    codec.py        its versioned JSON form in Redis (older versions read, unknown ones refused)
    ports.py        the slices of the store each part uses (typing.Protocol), OperationBook
    compile.py      plan -> steps: a pure function (compile_sync, compile_delete)
    start.py        start_sync: lock, compare, plan, compile, store
    delete_start.py start_delete: the same for `app delete --cascade`
    drive.py        run_step: the state machine (fencing, compare-and-set advance, failure, terminate)
    steps/          one module per step kind, and RUNNERS
    hooks.py        create, watch and delete resource hooks
    end.py          an operation ends: history, retry, hook clean-up, lock release, what runs next
    events.py       the points other parts hook into: operation_ended, delete_ended
    visible.py      the app's operation as users see it
"""
